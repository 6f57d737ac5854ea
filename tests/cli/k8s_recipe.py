#!/usr/bin/env python3
"""docker/k8s/bulk-unload-job.yaml, read as Kubernetes would, for test_k8s_recipe.sh.

  k8s_recipe.py check YAML
      The documents' structure: the PVC, the ConfigMap (string values), the
      Indexed Job (completions == parallelism == WORKERS), the commit Job, the
      labels the header's `kubectl apply -l` selectors use, the shared volume.
      Prints WORKERS and exits 0, or prints what is wrong and exits 1.
  k8s_recipe.py run YAML unload|commit --mount DIR [--index I] [--set K=V ...]
      Executes that Job's container command exactly as the pod would (command
      + args, no shell of ours in between) with the ConfigMap's variables as
      its environment (--set overrides or adds), JOB_COMPLETION_INDEX=I for the
      Indexed Job, and DIR in place of the volume's mountPath.
"""
import argparse
import os
import re
import sys

import yaml


def load(path):
    docs = [d for d in yaml.safe_load_all(open(path, encoding="utf-8")) if d is not None]
    text = open(path, encoding="utf-8").read()
    return docs, text


def find(docs, kind, pred=lambda d: True):
    return [d for d in docs if d.get("kind") == kind and pred(d)]


def labels(d):
    return (d.get("metadata") or {}).get("labels") or {}


def roles(docs):
    jobs = find(docs, "Job")
    unload = [j for j in jobs if labels(j).get("step") != "commit"]
    commit = [j for j in jobs if labels(j).get("step") == "commit"]
    return unload, commit


def container(job):
    cs = job["spec"]["template"]["spec"]["containers"]
    return cs[0]


def check(docs, text):
    errs = []

    def need(cond, what):
        if not cond:
            errs.append(what)
        return cond

    pvcs = find(docs, "PersistentVolumeClaim")
    cms = find(docs, "ConfigMap")
    unload, commit = roles(docs)
    need(len(docs) == 4, f"expected 4 documents (PVC, ConfigMap, 2 Jobs), got {[d.get('kind') for d in docs]}")
    if not (need(len(pvcs) == 1, "one PersistentVolumeClaim") and need(len(cms) == 1, "one ConfigMap") and
            need(len(unload) == 1, "one Job without step=commit (the workers)") and
            need(len(commit) == 1, "one Job labelled step=commit")):
        return errs, None
    pvc, cm, uj, cj = pvcs[0], cms[0], unload[0], commit[0]
    need("ReadWriteMany" in pvc["spec"].get("accessModes", []), "the warehouse volume must be ReadWriteMany")
    data = cm.get("data") or {}
    # Kubernetes rejects a ConfigMap whose data values are not strings (WORKERS: 8 unquoted).
    for k, v in data.items():
        need(isinstance(v, str), f"ConfigMap data {k} is {type(v).__name__}, not a string")
    for k in ("CASSANDRA_HOSTS", "KEYSPACE", "TABLE", "WORKERS", "JOB"):
        need(k in data, f"ConfigMap lacks {k}")
    workers = int(data.get("WORKERS", "0"))
    for j in (uj, cj):
        need(j.get("apiVersion") == "batch/v1", f"{j['metadata']['name']}: apiVersion batch/v1")
        ps = j["spec"]["template"]["spec"]
        need(ps.get("restartPolicy") == "Never", f"{j['metadata']['name']}: restartPolicy Never")
        c = container(j)
        need(c.get("command") == ["/bin/sh", "-c"], f"{j['metadata']['name']}: command is /bin/sh -c")
        need(isinstance(c.get("args"), list) and len(c["args"]) == 1, f"{j['metadata']['name']}: one args string")
        need({"configMapRef": {"name": cm["metadata"]["name"]}} in (c.get("envFrom") or []),
             f"{j['metadata']['name']}: envFrom the ConfigMap {cm['metadata']['name']}")
        vols = {v["name"]: v for v in ps.get("volumes", [])}
        mounts = c.get("volumeMounts") or []
        need(len(mounts) == 1 and mounts[0]["name"] in vols and
             vols[mounts[0]["name"]].get("persistentVolumeClaim", {}).get("claimName") == pvc["metadata"]["name"],
             f"{j['metadata']['name']}: mounts the claim {pvc['metadata']['name']}")
    us = uj["spec"]
    need(us.get("completionMode") == "Indexed", "the workers' Job: completionMode Indexed")
    need(us.get("completions") == workers, f"completions {us.get('completions')} != WORKERS {workers}")
    need(us.get("parallelism") == workers, f"parallelism {us.get('parallelism')} != WORKERS {workers}")
    need("backoffLimitPerIndex" in us or "backoffLimit" in us, "the workers' Job: a retry limit")
    need("JOB_COMPLETION_INDEX" in container(uj)["args"][0], "the worker's index comes from JOB_COMPLETION_INDEX")
    need(cj["spec"].get("completionMode") in (None, "NonIndexed") and cj["spec"].get("completions", 1) == 1,
         "the commit Job: one pod")
    need(container(uj)["volumeMounts"][0]["mountPath"] == container(cj)["volumeMounts"][0]["mountPath"],
         "workers and commit mount the warehouse at the same path")
    # The header's commands: the selectors split the documents as intended, `kubectl wait` names the workers' Job,
    # `kubectl logs` the commit Job.
    need("-l 'step!=commit'" in text and "-l step=commit" in text, "the header's kubectl apply selectors")
    need(re.search(r"kubectl wait --for=condition=complete job/" + re.escape(uj["metadata"]["name"]) + r"\b", text),
         "the header's kubectl wait names the workers' Job")
    need(re.search(r"kubectl logs job/" + re.escape(cj["metadata"]["name"]) + r"\b", text),
         "the header's kubectl logs names the commit Job")
    return errs, workers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["check", "run"])
    ap.add_argument("yaml")
    ap.add_argument("role", nargs="?", choices=["unload", "commit"])
    ap.add_argument("--mount")
    ap.add_argument("--index", type=int)
    ap.add_argument("--set", action="append", default=[])
    a = ap.parse_args()
    docs, text = load(a.yaml)
    errs, workers = check(docs, text)
    if a.what == "check":
        if errs:
            print("\n".join(errs))
            return 1
        print(workers)
        return 0
    if errs:
        print("k8s_recipe.py: the manifest does not check: " + "; ".join(errs), file=sys.stderr)
        return 2
    unload, commit = roles(docs)
    job = unload[0] if a.role == "unload" else commit[0]
    c = container(job)
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/"), "TMPDIR": os.environ.get("TMPDIR", "/tmp")}
    env.update(find(docs, "ConfigMap")[0]["data"])
    if job["spec"].get("completionMode") == "Indexed":
        if a.index is None:
            print("k8s_recipe.py: the Indexed Job needs --index", file=sys.stderr)
            return 2
        env["JOB_COMPLETION_INDEX"] = str(a.index)
    for kv in a.set:
        k, _, v = kv.partition("=")
        env[k] = v
    mount = c["volumeMounts"][0]["mountPath"]
    args = [s.replace(mount, a.mount) for s in c["args"]]
    if args == c["args"]:
        print(f"k8s_recipe.py: the command does not use the mount {mount}", file=sys.stderr)
        return 2
    os.execvpe(c["command"][0], c["command"] + args, env)


if __name__ == "__main__":
    sys.exit(main())

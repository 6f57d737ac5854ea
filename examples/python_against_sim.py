"""A real driver we did not write (DataStax Python driver) against `cqlpp sim`.

Run by scripts/demo.sh with Debian's /usr/bin/python3: connects with schema and
token metadata on, writes and reads a few rows through prepared statements
with token-aware routing, and shows the simulator's per-node counters.
"""
import sys

from cassandra.cluster import Cluster, ExecutionProfile, EXEC_PROFILE_DEFAULT
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy

port = int(sys.argv[1])
profile = ExecutionProfile(load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy()))
cluster = Cluster(["127.0.0.1"], port=port, execution_profiles={EXEC_PROFILE_DEFAULT: profile})
session = cluster.connect()
print("protocol v%d, release %s" % (cluster.protocol_version,
      session.execute("SELECT release_version FROM system.local").one().release_version))
for host in sorted(cluster.metadata.all_hosts(), key=lambda h: h.address):
    print("  host %s %s/%s up=%s" % (host.address, host.datacenter, host.rack, host.is_up))

session.execute("CREATE KEYSPACE IF NOT EXISTS demo WITH replication = "
                "{'class': 'SimpleStrategy', 'replication_factor': 1}")
session.execute("CREATE TABLE IF NOT EXISTS demo.users (id int PRIMARY KEY, name text, tags set<text>)")
insert = session.prepare("INSERT INTO demo.users (id, name, tags) VALUES (?, ?, ?)")
select = session.prepare("SELECT name, tags FROM demo.users WHERE id = ?")
for i in range(1000):
    session.execute(insert, (i, "user-%d" % i, {"demo", "n%d" % (i % 3)}))
row = session.execute(select, (42,)).one()
print("user 42: %s %s" % (row.name, sorted(row.tags)))
print("rows: %d" % session.execute("SELECT COUNT(*) FROM demo.users").one().count)

print("simulator counters (token-aware routing keeps non_replica_requests at 0):")
for r in session.execute("SELECT node, name, value FROM sim.counters"):
    if r.name in ("requests_EXECUTE", "replica_requests", "non_replica_requests"):
        print("  node %d %-22s %d" % (r.node, r.name, r.value))
cluster.shutdown()

// cqlpp sim: run the simulated cluster until interrupted.
#include "commands.hpp"
#include "util.hpp"

#include "cqlpp/sim/cluster.hpp"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

namespace cqlpp::tools {

namespace {

constexpr int max_nodes = 250;  // the sim's limit (one loopback address each)

struct sim_options {
    int nodes = 3;
    int num_tokens = 16;
    std::uint64_t seed = 42;
    std::uint16_t port = 9042;
    std::uint16_t base_port = 0;
    std::string base_address = "127.0.0.1";
    std::string datacenters;
    int racks = 1;
    bool v4_only = false;
    bool no_lz4 = false;
    std::vector<std::string> users;  // user:password
    std::string tls_cert, tls_key;
    int threads = 1;
    int non_replica_delay_us = 0;
    std::vector<std::string> prime_files;  // JSON rules (priming.hpp's prime_spec)
    int activity_log = 0;                  // requests kept per node; 0: off
};

void run_sim(const sim_options& o) {
    sim::cluster_config cfg;
    cfg.topology.nodes = o.nodes;
    cfg.topology.num_tokens = o.num_tokens;
    cfg.topology.seed = o.seed;
    cfg.topology.port = o.port;
    cfg.topology.base_port = o.base_port;
    cfg.topology.base_address = o.base_address;
    cfg.topology.racks_per_dc = o.racks;
    if (!o.datacenters.empty()) {
        int total = 0;
        for (const auto& part : split_top_level(o.datacenters, ',')) {
            auto colon = part.find(':');
            int n = 0;
            const char* end = part.data() + part.size();
            if (colon == std::string::npos || colon == 0 ||
                std::from_chars(part.data() + colon + 1, end, n) != std::from_chars_result{end, std::errc()} || n < 1)
                throw command_error("--dcs: expected NAME:NODES[,NAME:NODES...], got '" + part + "'");
            if (n > max_nodes || (total += n) > max_nodes)
                throw command_error("--dcs: at most " + std::to_string(max_nodes) + " nodes in all");
            cfg.topology.datacenters.emplace_back(part.substr(0, colon), n);
        }
        cfg.topology.nodes = total;
    }
    if (o.base_port && o.base_port + cfg.topology.nodes - 1 > 65535)
        throw command_error("--base-port: " + std::to_string(cfg.topology.nodes) + " nodes from port " +
                            std::to_string(o.base_port) + " go past 65535");
    cfg.v4_only = o.v4_only;
    cfg.allow_lz4 = !o.no_lz4;
    for (const auto& u : o.users) {
        auto colon = u.find(':');
        if (colon == std::string::npos) throw command_error("--user: expected NAME:PASSWORD, got '" + u + "'");
        cfg.users[u.substr(0, colon)] = u.substr(colon + 1);
    }
    if (!o.tls_cert.empty() || !o.tls_key.empty()) {
        if (o.tls_cert.empty() || o.tls_key.empty()) throw command_error("--tls-cert and --tls-key go together");
        cfg.tls = sim::tls_config{o.tls_cert, o.tls_key};
    }
    cfg.threads = o.threads;
    cfg.non_replica_delay = std::chrono::microseconds(o.non_replica_delay_us);
    cfg.activity_log_capacity = static_cast<std::size_t>(o.activity_log);

    std::unique_ptr<sim::cluster> c;
    try {
        c = std::make_unique<sim::cluster>(cfg);
    } catch (const std::exception& e) {
        throw command_error(std::string("cannot configure the cluster: ") + e.what());
    }
    std::size_t primed = 0;
    for (const auto& file : o.prime_files) {
        // Rules are small; a bound keeps a wrong path (a log, a dump) from filling memory.
        constexpr std::uintmax_t max_prime_file = 64u << 20;
        std::error_code size_error;
        if (std::filesystem::file_size(file, size_error) > max_prime_file && !size_error)
            throw command_error("--prime " + file + ": larger than 64 MiB");
        std::ifstream in(file, std::ios::binary);
        if (!in) throw command_error("--prime: cannot read " + file);
        std::ostringstream text;
        text << in.rdbuf();
        try {
            primed += c->prime_json(text.str()).size();
        } catch (const std::invalid_argument& e) {
            throw command_error("--prime " + file + ": " + e.what());
        }
    }
    try {
        c->listen();  // fail before printing the banner when a port is taken
    } catch (const std::system_error& e) {
        throw command_error(std::string("cannot listen: ") + e.what());
    }
    std::cout << "cqlpp sim: " << cfg.topology.nodes << " node(s), protocol " << (o.v4_only ? "v4" : "v5 and v4")
              << (cfg.allow_lz4 ? ", lz4" : "") << (cfg.users.empty() ? "" : ", PasswordAuthenticator")
              << (cfg.tls ? ", TLS" : "") << '\n';
    if (primed) std::cout << "  " << primed << " primed rule(s)\n";
    if (o.activity_log) std::cout << "  activity log: the last " << o.activity_log << " requests per node\n";
    for (const auto& n : c->topo().nodes())
        std::cout << "  node " << n.id << ": " << n.config.address << ':' << n.config.port << "  " << n.config.datacenter
                  << '/' << n.config.rack << '\n';
    std::cout << "contact points: ";
    auto cps = c->contact_points();
    for (std::size_t i = 0; i < cps.size(); ++i) std::cout << (i ? "," : "") << cps[i];
    std::cout << "\nserving until interrupted (Ctrl-C)" << std::endl;
    try {
        c->run(true);
    } catch (const std::system_error& e) {
        throw command_error(std::string("cannot listen: ") + e.what());
    }
    std::cout << "cqlpp sim: stopped" << std::endl;
}

}  // namespace

void add_sim_command(CLI::App& app) {
    auto o = std::make_shared<sim_options>();
    auto* cmd = app.add_subcommand("sim", "Run a simulated Cassandra cluster (in memory, CQL v5/v4) until interrupted");
    // Bounds are the sim's own (addresses 127.0.0.1..250, rings of at most 4096
    // vnodes per node) or far past any use, so a typo fails here in one line.
    cmd->add_option("--nodes", o->nodes, "Number of nodes")->check(whole_number(1, max_nodes))->capture_default_str();
    cmd->add_option("--num-tokens", o->num_tokens, "vnodes per node")->check(whole_number(1, 4096))->capture_default_str();
    cmd->add_option("--seed", o->seed, "Seed for token generation")->capture_default_str();
    cmd->add_option("--port", o->port,
                    "Port of every node (nodes on 127.0.0.1, 127.0.0.2, ...); 0: a free port per node, printed below")
        ->check(whole_number(0, 65535))
        ->capture_default_str();
    cmd->add_option("--base-port", o->base_port, "Instead: all nodes on --address, ports base, base+1, ...")
        ->check(whole_number(1, 65535));
    cmd->add_option("--address", o->base_address, "Address used with --base-port")->capture_default_str();
    cmd->add_option("--dcs", o->datacenters, "Datacenters as NAME:NODES,... (overrides --nodes)");
    cmd->add_option("--racks", o->racks, "Racks per datacenter")->check(whole_number(1, max_nodes))->capture_default_str();
    cmd->add_flag("--v4-only", o->v4_only, "Speak protocol v4 only (drivers must downgrade)");
    cmd->add_flag("--no-lz4", o->no_lz4, "Do not offer LZ4 compression");
    cmd->add_option("--user", o->users, "Enable PasswordAuthenticator with NAME:PASSWORD (repeatable)");
    cmd->add_option("--tls-cert", o->tls_cert, "PEM certificate: serve TLS");
    cmd->add_option("--tls-key", o->tls_key, "PEM private key for --tls-cert");
    cmd->add_option("--threads", o->threads, "I/O threads")->check(whole_number(1, 256))->capture_default_str();
    cmd->add_option("--non-replica-delay-us", o->non_replica_delay_us,
                    "Extra delay for single-partition requests coordinated by a non-replica")
        ->check(whole_number(0, 10'000'000))
        ->capture_default_str();
    cmd->add_option("--prime", o->prime_files,
                    "Load primed answers from a JSON file: an array of rules (fields as sim.primes' columns; repeatable)")
        ->check(CLI::ExistingFile);
    cmd->add_option("--activity-log", o->activity_log, "Keep the last N requests per node in sim.activity (0: off)")
        ->check(whole_number(0, 1'000'000))
        ->capture_default_str();
    cmd->footer(
        "At run time, from any CQL client (cqlpp shell, cqlsh, a driver), through the sim keyspace:\n"
        "  INSERT INTO sim.nodes (node) VALUES (3);                  a node joins (NEW_NODE)\n"
        "  DELETE FROM sim.nodes WHERE node = 1;                     a node is decommissioned (REMOVED_NODE)\n"
        "  UPDATE sim.nodes SET state = 'down' WHERE node = 1;       'up' | 'down' | 'paused'\n"
        "  UPDATE sim.nodes SET latency_ms = 50 WHERE node = 0;\n"
        "  UPDATE sim.nodes SET fail_next = 3, fail_error = 'OVERLOADED' WHERE node = 2;\n"
        "  UPDATE sim.nodes SET close_mid_response = 1, corrupt_crc = 1 WHERE node = 0;\n"
        "  UPDATE sim.nodes SET echo_payload = true WHERE node = 0;  custom payloads come back\n"
        "  SELECT node, name, value FROM sim.counters;\n"
        "Priming (canned answers, tried newest first; --prime FILE.json takes the same fields):\n"
        "  INSERT INTO sim.primes (query, columns, rows) VALUES ('SELECT name FROM ks.t WHERE id = 1',\n"
        "      ['name text'], [['''apple''']]);                   rows: cells are CQL literals\n"
        "  INSERT INTO sim.primes (query, node, error, required, alive, times)\n"
        "      VALUES ('SELECT * FROM ks.t', 1, 'UNAVAILABLE', 2, 1, 1);   an error with its fields, once\n"
        "  INSERT INTO sim.primes (query, match, delay_ms) VALUES ('UPDATE ks.t', 'prefix', 500);\n"
        "  INSERT INTO sim.primes JSON '{\"query\": \"...\", \"then\": \"close\"}';   close | no_answer | void\n"
        "  SELECT * FROM sim.primes;   DELETE FROM sim.primes WHERE id = 3;   TRUNCATE sim.primes;\n"
        "  Fields: query match (exact|prefix|regex) node consistency params (['id int']) values (['7'])\n"
        "  then columns rows error message error_consistency required alive received block_for\n"
        "  data_present write_type delay_ms times (0: until cleared)\n"
        "Activity log (or --activity-log N):\n"
        "  UPDATE sim.settings SET value = 100 WHERE name = 'activity_log';   0: off\n"
        "  SELECT * FROM sim.activity WHERE node = 0;   TRUNCATE sim.activity;\n"
        "Also system_views.clients / settings and system_traces.*; see docs/sim.md and docs/sim_fixture.md.");
    cmd->callback([o] { run_sim(*o); });
}

}  // namespace cqlpp::tools

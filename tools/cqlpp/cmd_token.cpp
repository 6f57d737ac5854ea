// cqlpp token: the Murmur3 token of a partition key.
#include "commands.hpp"
#include "util.hpp"

#include "cqlpp/protocol/literal.hpp"
#include "cqlpp/protocol/murmur3.hpp"
#include "cqlpp/protocol/value.hpp"

#include <iostream>
#include <memory>

namespace cqlpp::tools {

namespace {

struct token_options {
    std::string types;
    std::vector<std::string> values;
    std::string hex;
    bool hex_given = false;
};

void run_token(const token_options& o) {
    using namespace cqlpp::protocol;
    byte_buffer key;
    if (o.hex_given) {
        if (!o.types.empty() || !o.values.empty()) throw command_error("--hex takes no --types or values");
        key = parse_hex_arg(o.hex, "--hex");  // "" is the empty key
    } else if (o.types.empty() && o.values.empty()) {
        throw command_error("give --types T1[,T2...] and one CQL literal per type, or --hex KEY (see cqlpp token --help)");
    } else {
        if (o.types.empty()) throw command_error("values need --types T1[,T2...] (or use --hex)");
        auto types = split_top_level(o.types, ',');
        if (types.size() != o.values.size())
            throw command_error("--types lists " + std::to_string(types.size()) + " type(s) but " +
                                std::to_string(o.values.size()) + " value(s) were given");
        std::vector<byte_buffer> parts;
        for (std::size_t i = 0; i < types.size(); ++i) {
            auto t = parse_type(types[i]);
            parts.push_back(encode_literal(t, o.values[i]));
        }
        if (parts.size() == 1) {
            key = std::move(parts[0]);
        } else {
            std::vector<bytes_view> views(parts.begin(), parts.end());
            composite_key(views, key);
        }
    }
    std::cout << murmur3_token(key) << '\n';
}

}  // namespace

void add_token_command(CLI::App& app) {
    auto opts = std::make_shared<token_options>();
    auto* cmd = app.add_subcommand("token", "Print the Murmur3 token of a partition key");
    cmd->add_option("--types", opts->types, "Partition key column types, comma-separated (e.g. int,text)");
    auto* hex = cmd->add_option("--hex", opts->hex, "An already-serialized partition key, in hex");
    // The values are taken as they are, not through a CLI11 option: that would take
    // '[1, 2]' for a list of two arguments and split it.
    cmd->allow_extras();
    cmd->footer("Values: the partition key's CQL literals, one per type, after the options (text quoted: \"'abc'\").");
    cmd->callback([opts, hex, cmd] {
        opts->hex_given = hex->count() > 0;
        opts->values = cmd->remaining();
        for (const auto& v : opts->values)
            if (v.size() > 1 && v[0] == '-' && v[1] == '-') throw command_error("unknown option " + v);
        run_token(*opts);
    });
}

}  // namespace cqlpp::tools

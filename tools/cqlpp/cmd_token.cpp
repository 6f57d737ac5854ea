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
};

void run_token(const token_options& o) {
    using namespace cqlpp::protocol;
    byte_buffer key;
    if (!o.hex.empty() || (o.types.empty() && o.values.empty())) {
        if (!o.types.empty() || !o.values.empty()) throw command_error("--hex takes no --types or values");
        if (!from_hex(o.hex, key)) throw command_error("--hex: not a hex string: " + o.hex);
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
    cmd->add_option("--hex", opts->hex, "An already-serialized partition key, in hex");
    cmd->add_option("values", opts->values, "Partition key values as CQL literals, one per type");
    cmd->callback([opts] { run_token(*opts); });
}

}  // namespace cqlpp::tools

// .snn files: a safetensors container (so Python tools open the weights as
// they are) with the graph as JSON in the metadata. docs/file-format.md is
// the description; this file is the only reader and writer.
//
// Every size a file declares is checked against a tensor whose bytes are in
// the file, so a hostile file cannot make the loader allocate more than a
// small multiple of its own length. The graph is rebuilt through the same
// Network calls the API uses, so every check on names, models, values and
// shapes applies to files too; any refusal becomes SNN_FORMAT.
#include "core/file_format.h"

#include <cstdint>
#include <cstdio>
#include <deque>
#include <algorithm>
#include <cstring>
#include <string>

#include "core/error.h"
#include "core/json.h"
#include "core/safetensors.h"

namespace snn {

namespace {

constexpr int kFormatMajor = 1;
constexpr int kFormatMinor = 0;

using json::Value;
namespace st = safetensors;

const char* kind_name(int32_t kind) {
    switch (kind) {
        case SNN_CONNECTION_DENSE: return "dense";
        case SNN_CONNECTION_SPARSE: return "sparse";
        case SNN_CONNECTION_CONV2D: return "conv2d";
        default: return "one_to_one";
    }
}

// A conv2d connection's geometry as the file stores it: the fields of
// snn_conv2d_geometry by name.
struct ConvField {
    const char* name;
    int32_t snn_conv2d_geometry::*field;
};
constexpr ConvField kConvFields[] = {
    {"in_channels", &snn_conv2d_geometry::in_channels},     {"in_height", &snn_conv2d_geometry::in_height},
    {"in_width", &snn_conv2d_geometry::in_width},           {"out_channels", &snn_conv2d_geometry::out_channels},
    {"kernel_height", &snn_conv2d_geometry::kernel_height}, {"kernel_width", &snn_conv2d_geometry::kernel_width},
    {"stride_y", &snn_conv2d_geometry::stride_y},           {"stride_x", &snn_conv2d_geometry::stride_x},
    {"padding_y", &snn_conv2d_geometry::padding_y},         {"padding_x", &snn_conv2d_geometry::padding_x},
    {"bias", &snn_conv2d_geometry::bias},                   {"pool", &snn_conv2d_geometry::pool},
    {"pool_height", &snn_conv2d_geometry::pool_height},     {"pool_width", &snn_conv2d_geometry::pool_width},
    {"pool_stride_y", &snn_conv2d_geometry::pool_stride_y}, {"pool_stride_x", &snn_conv2d_geometry::pool_stride_x},
};

std::string pop_tensor(const Population& p, const char* var) { return std::string("pop/") + p.name.c_str() + "/" + var; }
std::string conn_tensor(const Connection& c, const char* var) { return std::string("conn/") + c.name.c_str() + "/" + var; }

}  // namespace

std::vector<uint8_t> save_network(const Network& network, uint32_t flags) {
    if (flags & ~uint32_t(SNN_SAVE_CURRENT_STATE)) throw fail(SNN_INVALID_ARGUMENT, "flags: unknown bits 0x%x", flags);
    // Before the first run the running state is the initial state: nothing more to save.
    const Engine* running = (flags & SNN_SAVE_CURRENT_STATE) ? network.running_engine() : nullptr;
    const Graph& g = network.graph();
    const int64_t batch = network.batch();

    // The tensors' bytes must outlive the writer's finish(); keep them here.
    std::deque<std::vector<float>> owned;  // a deque: elements never move
    st::Writer writer;
    auto add_floats = [&](std::string name, std::vector<int64_t> shape, std::vector<float> values) {
        owned.push_back(std::move(values));
        writer.add_tensor(std::move(name), st::DType::F32, std::move(shape), owned.back().data(), owned.back().size() * sizeof(float));
    };

    Value graph = Value::object();
    graph.set("dt", Value::from_double(g.dt));
    graph.set("seed", Value::from_uint64(g.seed));
    Value pops = Value::array();
    for (std::size_t p = 0; p < g.populations.size(); ++p) {
        const Population& pop = g.populations[p];
        const NeuronModel& m = pop.neuron_model();
        Value entry = Value::object();
        entry.set("name", Value::from_string(pop.name.c_str()));
        entry.set("model", Value::from_string(m.name));
        Value shape = Value::array();
        for (int64_t d : pop.shape) shape.push_back(Value::from_int64(d));
        entry.set("shape", shape);
        Value options = Value::object();
        for (std::size_t k = 0; k < m.options.size(); ++k) options.set(m.options[k].name, Value::from_string(pop.options[k].c_str()));
        entry.set("options", options);
        Value params = Value::array();
        for (std::size_t k = 0; k < m.params.size(); ++k) {
            params.push_back(Value::from_string(m.params[k].name));
            add_floats(pop_tensor(pop, m.params[k].name), {pop.size}, std::vector<float>(pop.params[k].begin(), pop.params[k].end()));
        }
        entry.set("params", params);
        Value state = Value::array();
        for (std::size_t v = 0; v < m.state_vars.size(); ++v) {
            state.push_back(Value::from_string(m.state_vars[v]));
            std::vector<float> values(static_cast<std::size_t>(batch * pop.size));
            network.initial_state(Owner::Population, static_cast<int32_t>(p), static_cast<int>(v), values.data());
            add_floats(pop_tensor(pop, m.state_vars[v]), {batch, pop.size}, std::move(values));
        }
        entry.set("state", state);
        pops.push_back(entry);
    }
    graph.set("populations", pops);

    std::deque<std::vector<int64_t>> owned_i64;
    std::deque<std::vector<int32_t>> owned_i32;
    Value conns = Value::array();
    for (std::size_t c = 0; c < g.connections.size(); ++c) {
        const Connection& conn = g.connections[c];
        const Population& pre = g.populations[static_cast<std::size_t>(conn.pre)];
        const Population& post = g.populations[static_cast<std::size_t>(conn.post)];
        const SynapseModel& sm = conn.synapse_model();
        Value entry = Value::object();
        entry.set("name", Value::from_string(conn.name.c_str()));
        entry.set("pre", Value::from_string(pre.name.c_str()));
        entry.set("post", Value::from_string(post.name.c_str()));
        entry.set("kind", Value::from_string(kind_name(conn.kind)));
        entry.set("synapse", Value::from_string(sm.name));
        Value params = Value::object();
        for (std::size_t k = 0; k < sm.params.size(); ++k) params.set(sm.params[k].name, Value::from_double(conn.syn_params[k]));
        entry.set("params", params);
        entry.set("delay", Value::from_int64(conn.delay));
        entry.set("nnz", Value::from_int64(conn.nnz()));
        entry.set("synapse_delays", Value::from_bool(conn.has_synapse_delays()));
        if (conn.kind == SNN_CONNECTION_CONV2D) {
            const snn_conv2d_geometry geometry = conv2d_geometry(conn.conv);
            Value fields = Value::object();
            for (const ConvField& f : kConvFields) fields.set(f.name, Value::from_int64(geometry.*f.field));
            entry.set("conv2d", fields);
        }
        if (conn.plastic()) {  // the learning rule (docs/models.md, "Plasticity"); its traces go with the running state
            const PlasticityModel& pm = conn.plasticity_model();
            Value rule = Value::object();
            rule.set("rule", Value::from_string(pm.name));
            Value rule_params = Value::object();
            for (std::size_t k = 0; k < pm.params.size(); ++k) rule_params.set(pm.params[k].name, Value::from_double(conn.plastic_params[k]));
            rule.set("params", rule_params);
            Value rule_options = Value::object();
            for (std::size_t k = 0; k < pm.options.size(); ++k)
                rule_options.set(pm.options[k].name, Value::from_string(conn.plastic_options[k].c_str()));
            rule.set("options", rule_options);
            rule.set("learning", Value::from_bool(conn.learning));
            entry.set("plasticity", rule);
        }
        if (conn.bfloat16) {  // written only when not the default, so float32 files stay as they were
            Value options = Value::object();
            options.set("weight_dtype", Value::from_string("bfloat16"));
            entry.set("options", options);
        }
        conns.push_back(entry);

        std::vector<int64_t> wshape = conn.kind == SNN_CONNECTION_DENSE ? std::vector<int64_t>{pre.size, post.size}
                                                                         : std::vector<int64_t>{conn.nnz()};
        add_floats(conn_tensor(conn, "weights"), wshape, std::vector<float>(conn.weights.begin(), conn.weights.end()));
        if (conn.kind == SNN_CONNECTION_SPARSE) {
            owned_i64.emplace_back(conn.row_ptr.begin(), conn.row_ptr.end());
            writer.add_tensor(conn_tensor(conn, "row_ptr"), st::DType::I64, {pre.size + 1}, owned_i64.back().data(),
                              owned_i64.back().size() * sizeof(int64_t));
            owned_i32.emplace_back(conn.post_index.begin(), conn.post_index.end());
            writer.add_tensor(conn_tensor(conn, "post_index"), st::DType::I32, {conn.nnz()}, owned_i32.back().data(),
                              owned_i32.back().size() * sizeof(int32_t));
            if (conn.has_synapse_delays()) {
                owned_i32.emplace_back(conn.delays.begin(), conn.delays.end());
                writer.add_tensor(conn_tensor(conn, "delays"), st::DType::I32, {conn.nnz()}, owned_i32.back().data(),
                                  owned_i32.back().size() * sizeof(int32_t));
            }
        }
        if (!sm.state_vars.empty()) {
            std::vector<float> values(static_cast<std::size_t>(batch * post.size));
            network.initial_state(Owner::Connection, static_cast<int32_t>(c), 0, values.data());
            add_floats(conn_tensor(conn, sm.state_vars[0]), {batch, post.size}, std::move(values));
        }
    }
    graph.set("connections", conns);

    std::deque<std::vector<uint8_t>> owned_u8;
    if (running) {
        for (std::size_t p = 0; p < g.populations.size(); ++p) {
            const Population& pop = g.populations[p];
            const int32_t id = static_cast<int32_t>(p);
            const std::string prefix = "state/" + pop_tensor(pop, "");
            for (std::size_t v = 0; v < pop.neuron_model().state_vars.size(); ++v) {
                std::vector<float> values(static_cast<std::size_t>(batch * pop.size));
                running->read_state(Owner::Population, id, static_cast<int>(v), values.data());
                add_floats(prefix + pop.neuron_model().state_vars[v], {batch, pop.size}, std::move(values));
            }
            const int64_t depth = running->delay_line_depth(id);
            std::vector<int32_t> refractory(static_cast<std::size_t>(batch * pop.size));
            std::vector<float> delay_line(static_cast<std::size_t>(depth * batch * pop.size));
            std::vector<uint8_t> spikes(static_cast<std::size_t>(batch * pop.size));
            running->read_internal(id, refractory.data(), delay_line.data(), spikes.data());
            owned_i32.push_back(std::move(refractory));
            writer.add_tensor(prefix + "refractory", st::DType::I32, {batch, pop.size}, owned_i32.back().data(),
                              owned_i32.back().size() * sizeof(int32_t));
            owned_u8.push_back(std::move(spikes));
            writer.add_tensor(prefix + "spikes", st::DType::U8, {batch, pop.size}, owned_u8.back().data(), owned_u8.back().size());
            add_floats(prefix + "delay_line", {depth, batch, pop.size}, std::move(delay_line));
        }
        for (std::size_t c = 0; c < g.connections.size(); ++c) {
            const Connection& conn = g.connections[c];
            if (conn.synapse_model().state_vars.empty()) continue;
            const int64_t n_post = g.populations[static_cast<std::size_t>(conn.post)].size;
            std::vector<float> values(static_cast<std::size_t>(batch * n_post));
            running->read_state(Owner::Connection, static_cast<int32_t>(c), 0, values.data());
            add_floats("state/" + conn_tensor(conn, conn.synapse_model().state_vars[0]), {batch, n_post}, std::move(values));
        }
        // The learning rules' traces (their events in flight are rebuilt from
        // the presynaptic delay lines on load).
        for (std::size_t c = 0; c < g.connections.size(); ++c) {
            const Connection& conn = g.connections[c];
            if (!conn.plastic()) continue;
            const auto& vars = conn.plasticity_model().state_vars;
            for (std::size_t v = 0; v < vars.size(); ++v) {
                const int var = kPlasticVar + static_cast<int>(v);
                const int64_t n = network.state_size(Owner::Connection, static_cast<int32_t>(c), var);
                std::vector<float> values(static_cast<std::size_t>(batch * n));
                network.read_state(Owner::Connection, static_cast<int32_t>(c), var, values.data());
                add_floats("state/" + conn_tensor(conn, vars[v].name), {batch, n}, std::move(values));
            }
        }
        writer.add_metadata("snn.step", std::to_string(network.current_step()));
    }

    std::string graph_text, error;
    if (!json::write(graph, &graph_text, &error)) throw fail(SNN_INTERNAL, "save: the graph could not be written as JSON: %s", error.c_str());
    writer.add_metadata("snn.format", std::to_string(kFormatMajor) + "." + std::to_string(kFormatMinor));
    writer.add_metadata("snn.graph", graph_text);
    writer.add_metadata("snn.batch", std::to_string(batch));
    std::vector<uint8_t> bytes;
    if (!writer.finish(&bytes, &error)) throw fail(SNN_INTERNAL, "save: %s", error.c_str());
    return bytes;
}

void save_network_file(const Network& network, const char* path, uint32_t flags) {
    std::vector<uint8_t> bytes = save_network(network, flags);
    std::FILE* f = std::fopen(path, "wb");
    if (!f) throw fail(SNN_IO, "path: cannot open \"%s\" for writing: %s", path, std::strerror(errno));
    const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    const bool closed = std::fclose(f) == 0;
    if (!ok || !closed) throw fail(SNN_IO, "path: writing \"%s\" failed: %s", path, std::strerror(errno));
}

namespace {

[[noreturn]] void bad(const char* format, const std::string& detail = std::string()) {
    throw fail(SNN_FORMAT, "file: %s%s%s", format, detail.empty() ? "" : ": ", detail.c_str());
}

const Value& member(const Value& object, const char* key, json::Kind kind, const char* where) {
    const Value* v = object.find(key);
    if (!v || v->kind() != kind) bad("a required field is missing or has the wrong type", std::string(where) + "." + key);
    return *v;
}

std::string text_of(const Value& object, const char* key, const char* where) {
    return member(object, key, json::Kind::String, where).as_string();
}

int64_t int_of(const Value& object, const char* key, const char* where) {
    int64_t out = 0;
    if (!member(object, key, json::Kind::Number, where).as_int64(&out)) bad("not an integer", std::string(where) + "." + key);
    return out;
}

// The tensor `name` with exactly this dtype and shape, or SNN_FORMAT.
const st::TensorView& tensor(const st::File& file, const std::string& name, st::DType dtype, const std::vector<int64_t>& shape) {
    const st::TensorView* t = file.find(name);
    if (!t) bad("a tensor is missing", name);
    if (t->dtype != dtype) bad("a tensor has the wrong dtype", name);
    if (t->shape != shape) bad("a tensor's shape does not match the graph", name);
    return *t;
}

template <class T>
std::vector<T> values_of(const st::TensorView& t) {
    std::vector<T> out(t.nbytes / sizeof(T));
    if (!out.empty()) std::memcpy(out.data(), t.data, t.nbytes);  // the data may be unaligned
    return out;
}

int32_t connection_kind(const std::string& name) {
    if (name == "dense") return SNN_CONNECTION_DENSE;
    if (name == "sparse") return SNN_CONNECTION_SPARSE;
    if (name == "one_to_one") return SNN_CONNECTION_ONE_TO_ONE;
    if (name == "conv2d") return SNN_CONNECTION_CONV2D;
    bad("unknown connection kind", name);
}

void build(Network& net, const Value& graph, const st::File& file, int64_t saved_batch) {
    const Value& pops = member(graph, "populations", json::Kind::Array, "graph");
    for (const Value& entry : pops.as_array()) {
        if (!entry.is_object()) bad("a population entry is not an object");
        const std::string name = text_of(entry, "name", "population");
        const std::string model = text_of(entry, "model", "population");
        const Value& shape_value = member(entry, "shape", json::Kind::Array, "population");
        std::vector<int64_t> shape;
        for (const Value& d : shape_value.as_array()) {
            int64_t x = 0;
            if (!d.as_int64(&x)) bad("a shape entry is not an integer", name);
            shape.push_back(x);
        }
        if (shape.empty() || shape.size() > 8) bad("a population shape must have 1 to 8 dimensions", name);
        // Check the size against a tensor in the file before anything is allocated for it.
        int64_t size = 1;
        for (int64_t d : shape) {
            if (d < 1 || size > (int64_t(1) << 31) / d) bad("a population shape is out of range", name);
            size *= d;
        }
        int model_index = find_neuron_model(model);
        if (model_index < 0) bad("unknown neuron model", model);
        const NeuronModel& m = neuron_models()[static_cast<std::size_t>(model_index)];
        // The parameters the file lists must have their tensors; one it does
        // not list (a file written before the model had it) keeps its default.
        std::vector<std::string> listed;
        if (const Value* names = entry.find("params")) {
            if (!names->is_array()) bad("params is not an array", name);
            for (const Value& v : names->as_array()) {
                if (!v.is_string()) bad("a parameter name is not a string", name);
                listed.push_back(v.as_string());
            }
        }
        std::vector<std::vector<float>> params;
        for (const NumberParam& p : m.params) {
            if (entry.find("params") && std::find(listed.begin(), listed.end(), p.name) == listed.end()) {
                params.emplace_back(static_cast<std::size_t>(size), static_cast<float>(p.default_value));
                continue;
            }
            params.push_back(values_of<float>(tensor(file, "pop/" + name + "/" + p.name, st::DType::F32, {size})));
        }
        std::vector<std::vector<float>> state;
        for (const char* var : m.state_vars)
            state.push_back(values_of<float>(tensor(file, "pop/" + name + "/" + var, st::DType::F32, {saved_batch, size})));

        int32_t id = net.add_population(name, model, static_cast<int32_t>(shape.size()), shape.data());
        for (std::size_t k = 0; k < m.params.size(); ++k) net.set_param_array(id, m.params[k].name, params[k].data(), size);
        if (const Value* options = entry.find("options")) {
            if (!options->is_object()) bad("options is not an object", name);
            for (const auto& [key, value] : options->as_object()) {
                if (!value.is_string()) bad("an option value is not a string", key);
                net.set_option(id, key, value.as_string());
            }
        }
        for (std::size_t v = 0; v < state.size(); ++v) {
            // Instance b of the network starts from saved instance b mod saved_batch.
            std::vector<float> tiled(static_cast<std::size_t>(net.batch() * size));
            for (int64_t b = 0; b < net.batch(); ++b)
                std::memcpy(tiled.data() + b * size, state[v].data() + (b % saved_batch) * size, static_cast<std::size_t>(size) * sizeof(float));
            net.set_initial_state(Owner::Population, id, static_cast<int>(v), tiled.data());
        }
    }

    const Value& conns = member(graph, "connections", json::Kind::Array, "graph");
    for (const Value& entry : conns.as_array()) {
        if (!entry.is_object()) bad("a connection entry is not an object");
        const std::string name = text_of(entry, "name", "connection");
        const int32_t pre = net.find_population(text_of(entry, "pre", "connection"));
        const int32_t post = net.find_population(text_of(entry, "post", "connection"));
        if (pre < 0 || post < 0) bad("a connection names a population that does not exist", name);
        const int64_t n_pre = net.population(pre).size, n_post = net.population(post).size;
        const int32_t kind = connection_kind(text_of(entry, "kind", "connection"));
        const std::string synapse = text_of(entry, "synapse", "connection");
        const int64_t delay = int_of(entry, "delay", "connection");
        const int64_t nnz = int_of(entry, "nnz", "connection");
        const bool synapse_delays = entry.find("synapse_delays") && entry.find("synapse_delays")->as_bool();
        if (delay < 0 || delay > (1 << 16)) bad("delay out of range", name);
        snn_connection_options o{};
        o.struct_size = sizeof o;
        o.name = name.c_str();
        o.synapse = synapse.c_str();
        o.delay = static_cast<int32_t>(delay);
        int32_t id = -1;
        if (kind == SNN_CONNECTION_DENSE) {
            auto w = values_of<float>(tensor(file, "conn/" + name + "/weights", st::DType::F32, {n_pre, n_post}));
            id = net.connect_dense(pre, post, w.data(), static_cast<int64_t>(w.size()), o);
        } else if (kind == SNN_CONNECTION_CONV2D) {
            const Value& fields = member(entry, "conv2d", json::Kind::Object, "connection");
            snn_conv2d_geometry geometry{};
            geometry.struct_size = sizeof geometry;
            for (const ConvField& f : kConvFields) {
                const int64_t value = int_of(fields, f.name, "conv2d");
                if (value < INT32_MIN || value > INT32_MAX) bad("a conv2d field is out of range", f.name);
                geometry.*f.field = static_cast<int32_t>(value);
            }
            auto w = values_of<float>(tensor(file, "conn/" + name + "/weights", st::DType::F32, {nnz}));
            id = net.connect_conv2d(pre, post, geometry, w.data(), static_cast<int64_t>(w.size()), o);
        } else if (kind == SNN_CONNECTION_ONE_TO_ONE) {
            auto w = values_of<float>(tensor(file, "conn/" + name + "/weights", st::DType::F32, {nnz}));
            id = net.connect_one_to_one(pre, post, w.data(), static_cast<int64_t>(w.size()), 0.0f, o);
        } else {
            auto w = values_of<float>(tensor(file, "conn/" + name + "/weights", st::DType::F32, {nnz}));
            auto row_ptr = values_of<int64_t>(tensor(file, "conn/" + name + "/row_ptr", st::DType::I64, {n_pre + 1}));
            auto post_index = values_of<int32_t>(tensor(file, "conn/" + name + "/post_index", st::DType::I32, {nnz}));
            std::vector<int32_t> delays;
            if (synapse_delays) delays = values_of<int32_t>(tensor(file, "conn/" + name + "/delays", st::DType::I32, {nnz}));
            id = net.connect_sparse(pre, post, nnz, row_ptr.data(), post_index.data(), w.data(), synapse_delays ? delays.data() : nullptr, o);
        }
        if (const Value* options = entry.find("options")) {
            if (!options->is_object()) bad("options is not an object", name);
            for (const auto& [key, value] : options->as_object()) {
                if (!value.is_string()) bad("an option value is not a string", key);
                net.set_connection_option(id, key, value.as_string());
            }
        }
        if (const Value* params = entry.find("params")) {
            if (!params->is_object()) bad("params is not an object", name);
            for (const auto& [key, value] : params->as_object()) {
                if (!value.is_number()) bad("a synapse parameter is not a number", key);
                net.set_connection_param(id, key, value.as_number());
            }
        }
        if (const Value* rule = entry.find("plasticity")) {
            if (!rule->is_object()) bad("plasticity is not an object", name);
            net.set_connection_option(id, "plasticity", text_of(*rule, "rule", "plasticity"));
            if (const Value* options = rule->find("options")) {
                if (!options->is_object()) bad("plasticity options is not an object", name);
                for (const auto& [key, value] : options->as_object()) {
                    if (!value.is_string()) bad("a plasticity option is not a string", key);
                    if (!value.as_string().empty()) net.set_connection_option(id, key, value.as_string());
                }
            }
            if (const Value* params = rule->find("params")) {
                if (!params->is_object()) bad("plasticity params is not an object", name);
                // The bounds first, in an order that never crosses them, then the rest.
                const Value* lo = params->find("w_min");
                const Value* hi = params->find("w_max");
                if (lo && hi && lo->is_number() && hi->is_number()) {
                    const bool max_first = !(lo->as_number() < net.connection_param(id, "w_max"));
                    net.set_connection_param(id, max_first ? "w_max" : "w_min", (max_first ? hi : lo)->as_number());
                    net.set_connection_param(id, max_first ? "w_min" : "w_max", (max_first ? lo : hi)->as_number());
                }
                for (const auto& [key, value] : params->as_object()) {
                    if (!value.is_number()) bad("a plasticity parameter is not a number", key);
                    net.set_connection_param(id, key, value.as_number());
                }
            }
            if (const Value* learning = rule->find("learning"))
                net.set_connection_option(id, "learning", learning->as_bool() ? "on" : "off");
        }
        const SynapseModel& sm = net.connection(id).synapse_model();
        if (!sm.state_vars.empty()) {
            auto state = values_of<float>(tensor(file, "conn/" + name + "/" + sm.state_vars[0], st::DType::F32, {saved_batch, n_post}));
            std::vector<float> tiled(static_cast<std::size_t>(net.batch() * n_post));
            for (int64_t b = 0; b < net.batch(); ++b)
                std::memcpy(tiled.data() + b * n_post, state.data() + (b % saved_batch) * n_post, static_cast<std::size_t>(n_post) * sizeof(float));
            net.set_initial_state(Owner::Connection, id, 0, tiled.data());
        }
    }
}

// Restores what SNN_SAVE_CURRENT_STATE saved: the engine's running state and the step.
void restore_running_state(Network& net, const st::File& file, const std::string& step_text) {
    Value step_value;
    int64_t step = 0;
    std::string error;
    if (!json::parse(step_text, &step_value, &error) || !step_value.as_int64(&step) || step < 0) bad("snn.step is not a step count", step_text);
    const Graph& g = net.graph();
    const int64_t batch = net.batch();
    Engine& engine = net.start_engine();
    for (std::size_t p = 0; p < g.populations.size(); ++p) {
        const Population& pop = g.populations[p];
        const int32_t id = static_cast<int32_t>(p);
        const std::string prefix = "state/pop/" + std::string(pop.name.c_str()) + "/";
        for (std::size_t v = 0; v < pop.neuron_model().state_vars.size(); ++v) {
            auto values = values_of<float>(tensor(file, prefix + pop.neuron_model().state_vars[v], st::DType::F32, {batch, pop.size}));
            engine.write_state(Owner::Population, id, static_cast<int>(v), values.data());
        }
        const int64_t depth = engine.delay_line_depth(id);
        auto refractory = values_of<int32_t>(tensor(file, prefix + "refractory", st::DType::I32, {batch, pop.size}));
        auto spikes = values_of<uint8_t>(tensor(file, prefix + "spikes", st::DType::U8, {batch, pop.size}));
        auto delay_line = values_of<float>(tensor(file, prefix + "delay_line", st::DType::F32, {depth, batch, pop.size}));
        for (int32_t r : refractory)
            if (r < 0) bad("a refractory counter is negative", pop.name.c_str());
        for (uint8_t& x : spikes) x = x != 0;
        engine.write_internal(id, refractory.data(), delay_line.data(), spikes.data());
    }
    for (std::size_t c = 0; c < g.connections.size(); ++c) {
        const Connection& conn = g.connections[c];
        if (conn.synapse_model().state_vars.empty()) continue;
        const int64_t n_post = g.populations[static_cast<std::size_t>(conn.post)].size;
        auto values = values_of<float>(tensor(file, "state/conn/" + std::string(conn.name.c_str()) + "/" + conn.synapse_model().state_vars[0],
                                              st::DType::F32, {batch, n_post}));
        engine.write_state(Owner::Connection, static_cast<int32_t>(c), 0, values.data());
    }
    for (std::size_t c = 0; c < g.connections.size(); ++c) {
        const Connection& conn = g.connections[c];
        if (!conn.plastic()) continue;
        const auto& vars = conn.plasticity_model().state_vars;
        for (std::size_t v = 0; v < vars.size(); ++v) {
            const int var = kPlasticVar + static_cast<int>(v);
            const int64_t n = net.state_size(Owner::Connection, static_cast<int32_t>(c), var);
            auto values = values_of<float>(tensor(file, "state/conn/" + std::string(conn.name.c_str()) + "/" + vars[v].name,
                                                  st::DType::F32, {batch, n}));
            net.write_state(Owner::Connection, static_cast<int32_t>(c), var, values.data(), static_cast<int64_t>(values.size()));
        }
    }
    net.set_step(step);
    net.restore_learning_events();
}

}  // namespace

resource_ptr<Network> load_network(Context& context, const uint8_t* data, std::size_t size, const snn_load_options& options) {
    if (options.batch < 0) throw fail(SNN_INVALID_ARGUMENT, "options.batch: is negative");
    st::File file;
    std::string error;
    if (!st::parse(data, size, &file, &error)) bad("not a safetensors container", error);
    const std::string* format = file.find_metadata("snn.format");
    const std::string* graph_text = file.find_metadata("snn.graph");
    const std::string* batch_text = file.find_metadata("snn.batch");
    if (!format || !graph_text || !batch_text) bad("not a .snn file (snn.format, snn.graph or snn.batch metadata missing)");
    int major = 0, minor = 0;
    if (std::sscanf(format->c_str(), "%d.%d", &major, &minor) != 2) bad("snn.format is not MAJOR.MINOR", *format);
    if (major > kFormatMajor)
        bad("written by a newer libsnn (format major version too high)", *format);
    Value batch_value;
    int64_t saved_batch = 0;
    if (!json::parse(*batch_text, &batch_value, &error) || !batch_value.as_int64(&saved_batch) || saved_batch < 1 ||
        saved_batch > (int64_t(1) << 30))
        bad("snn.batch is not a positive integer", *batch_text);
    Value graph;
    if (!json::parse(*graph_text, &graph, &error)) bad("snn.graph is not valid JSON", error);
    if (!graph.is_object()) bad("snn.graph is not a JSON object");

    snn_network_options o{};
    o.struct_size = sizeof o;
    o.dt = member(graph, "dt", json::Kind::Number, "graph").as_number();
    if (!member(graph, "seed", json::Kind::Number, "graph").as_uint64(&o.seed)) bad("graph.seed is not an unsigned integer");
    o.batch = options.batch > 0 ? options.batch : static_cast<int32_t>(saved_batch);
    const std::string* step_text = file.find_metadata("snn.step");
    if (step_text && o.batch != saved_batch)
        throw fail(SNN_INVALID_ARGUMENT, "options.batch: this file holds a running state, which loads only with its saved batch (%lld)",
                   static_cast<long long>(saved_batch));
    try {
        resource_ptr<Network> net = make_in<Network, Network>(context.memory(), context, o);
        build(*net, graph, file, saved_batch);
        if (step_text) restore_running_state(*net, file, *step_text);
        return net;
    } catch (const Error& e) {
        if (e.status() == SNN_FORMAT || e.status() == SNN_NO_MEMORY) throw;
        bad("the network it describes is invalid", e.what());
    }
}

resource_ptr<Network> load_network_file(Context& context, const char* path, const snn_load_options& options) {
    std::FILE* f = std::fopen(path, "rb");
    if (!f) throw fail(SNN_IO, "path: cannot open \"%s\": %s", path, std::strerror(errno));
    std::vector<uint8_t> bytes;
    uint8_t chunk[1 << 16];
    std::size_t got = 0;
    while ((got = std::fread(chunk, 1, sizeof chunk, f)) > 0) bytes.insert(bytes.end(), chunk, chunk + got);
    const bool failed = std::ferror(f) != 0;
    std::fclose(f);
    if (failed) throw fail(SNN_IO, "path: reading \"%s\" failed", path);
    return load_network(context, bytes.data(), bytes.size(), options);
}

}  // namespace snn

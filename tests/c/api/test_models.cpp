// The model registry: snn_model_list, snn_model_params, snn_model_state_vars.
#include <algorithm>
#include <cstddef>
#include <set>

#include "helpers.h"

using namespace snntest;

namespace {

std::vector<std::string> model_names(int32_t kind) {
    int32_t count = -1;
    EXPECT_SNN_OK(snn_model_list(kind, nullptr, 0, &count));
    std::vector<const char*> names(static_cast<std::size_t>(std::max(count, 0)));
    int32_t count2 = -1;
    EXPECT_SNN_OK(snn_model_list(kind, names.data(), count, &count2));
    EXPECT_EQ(count2, count);
    std::vector<std::string> out;
    for (const char* n : names) out.push_back(n ? n : "(null)");
    return out;
}

std::vector<snn_param_info> params_of(int32_t kind, const char* model) {
    int32_t count = -1;
    EXPECT_SNN_OK(snn_model_params(kind, model, nullptr, 0, &count));
    std::vector<snn_param_info> infos(static_cast<std::size_t>(std::max(count, 0)));
    for (auto& i : infos) i.struct_size = sizeof i;
    if (count > 0) EXPECT_SNN_OK(snn_model_params(kind, model, infos.data(), count, &count));
    return infos;
}

const snn_param_info* find_param(const std::vector<snn_param_info>& infos, const char* name) {
    for (const auto& i : infos)
        if (i.name && std::strcmp(i.name, name) == 0) return &i;
    return nullptr;
}

std::vector<std::string> state_vars(int32_t kind, const char* model) {
    int32_t count = -1;
    EXPECT_SNN_OK(snn_model_state_vars(kind, model, nullptr, 0, &count));
    std::vector<const char*> names(static_cast<std::size_t>(std::max(count, 0)));
    if (count > 0) EXPECT_SNN_OK(snn_model_state_vars(kind, model, names.data(), count, &count));
    std::vector<std::string> out;
    for (const char* n : names) out.push_back(n ? n : "(null)");
    return out;
}

bool contains(const std::vector<std::string>& v, const char* s) { return std::find(v.begin(), v.end(), s) != v.end(); }

}  // namespace

TEST(Models, ListNeuronAndSynapseModels) {
    std::vector<std::string> neurons = model_names(SNN_MODEL_NEURON);
    for (const char* m : {"spike_source", "current_source", "poisson", "if", "lif"}) EXPECT_TRUE(contains(neurons, m)) << m;
    std::vector<std::string> synapses = model_names(SNN_MODEL_SYNAPSE);
    for (const char* m : {"delta", "exp", "cond_exp"}) EXPECT_TRUE(contains(synapses, m)) << m;
    EXPECT_EQ(std::set<std::string>(neurons.begin(), neurons.end()).size(), neurons.size()) << "duplicate names";
}

TEST(Models, ListRefusals) {
    int32_t count = 0;
    const char* names[64];
    EXPECT_SNN_ERROR(snn_model_list(0, names, 64, &count), SNN_INVALID_ARGUMENT, "kind");
    EXPECT_SNN_ERROR(snn_model_list(SNN_MODEL_NEURON, names, 64, nullptr), SNN_INVALID_ARGUMENT, "out_count");
    EXPECT_SNN_ERROR(snn_model_list(SNN_MODEL_NEURON, nullptr, 64, &count), SNN_INVALID_ARGUMENT, "out_names");
    EXPECT_SNN_ERROR(snn_model_list(SNN_MODEL_NEURON, names, -2, &count), SNN_INVALID_ARGUMENT, "capacity");
    // Capacity too small in the second call.
    ASSERT_SNN_OK(snn_model_list(SNN_MODEL_NEURON, nullptr, 0, &count));
    ASSERT_GE(count, 2);
    names[count - 1] = "guard";
    EXPECT_SNN_ERROR(snn_model_list(SNN_MODEL_NEURON, names, count - 1, &count), SNN_SHAPE, "capacity");
    // The query still works.
    EXPECT_TRUE(contains(model_names(SNN_MODEL_NEURON), "lif"));
}

TEST(Models, LifParameters) {
    std::vector<snn_param_info> infos = params_of(SNN_MODEL_NEURON, "lif");
    const snn_param_info* tau = find_param(infos, "tau_mem");
    ASSERT_NE(tau, nullptr);
    EXPECT_EQ(tau->kind, SNN_PARAM_NUMBER);
    EXPECT_DOUBLE_EQ(tau->default_number, 20e-3);
    EXPECT_EQ(tau->default_string, nullptr);
    ASSERT_NE(tau->unit, nullptr);
    EXPECT_STREQ(tau->unit, "s");
    ASSERT_NE(tau->choices, nullptr);
    EXPECT_STREQ(tau->choices, "");
    ASSERT_NE(tau->description, nullptr);
    EXPECT_GT(std::strlen(tau->description), 0u);
    EXPECT_EQ(tau->struct_size, sizeof(snn_param_info));

    for (const char* volts : {"v_rest", "v_reset", "v_th"}) {
        const snn_param_info* p = find_param(infos, volts);
        ASSERT_NE(p, nullptr) << volts;
        EXPECT_STREQ(p->unit, "V") << volts;
        EXPECT_EQ(p->kind, SNN_PARAM_NUMBER);
    }
    EXPECT_DOUBLE_EQ(find_param(infos, "v_rest")->default_number, -65e-3);
    EXPECT_DOUBLE_EQ(find_param(infos, "v_th")->default_number, -50e-3);
    ASSERT_NE(find_param(infos, "t_ref"), nullptr);
    EXPECT_DOUBLE_EQ(find_param(infos, "t_ref")->default_number, 0.0);

    const snn_param_info* reset = find_param(infos, "reset");
    ASSERT_NE(reset, nullptr);
    EXPECT_EQ(reset->kind, SNN_PARAM_STRING);
    ASSERT_NE(reset->default_string, nullptr);
    EXPECT_STREQ(reset->default_string, "value");
    EXPECT_STREQ(reset->unit, "");
    // choices: '|'-separated, including "value" and "subtract".
    std::string choices = reset->choices;
    std::set<std::string> parts;
    for (std::size_t start = 0;;) {
        std::size_t bar = choices.find('|', start);
        parts.insert(choices.substr(start, bar == std::string::npos ? std::string::npos : bar - start));
        if (bar == std::string::npos) break;
        start = bar + 1;
    }
    EXPECT_TRUE(parts.count("value")) << choices;
    EXPECT_TRUE(parts.count("subtract")) << choices;
}

TEST(Models, SynapseParameters) {
    EXPECT_TRUE(params_of(SNN_MODEL_SYNAPSE, "delta").empty());
    std::vector<snn_param_info> exp = params_of(SNN_MODEL_SYNAPSE, "exp");
    ASSERT_NE(find_param(exp, "tau"), nullptr);
    EXPECT_STREQ(find_param(exp, "tau")->unit, "s");
    EXPECT_GT(find_param(exp, "tau")->default_number, 0.0);
    std::vector<snn_param_info> cond = params_of(SNN_MODEL_SYNAPSE, "cond_exp");
    ASSERT_NE(find_param(cond, "tau"), nullptr);
    ASSERT_NE(find_param(cond, "e_rev"), nullptr);
    EXPECT_STREQ(find_param(cond, "e_rev")->unit, "V");
}

TEST(Models, ParamsWithOlderSmallerElements) {
    // A caller whose snn_param_info ends before `default_string`: elements are
    // read at its stride and nothing is written past each element's size.
    struct OldInfo {
        uint32_t struct_size;
        const char* name;
        int32_t kind;
        double default_number;
    };
    static_assert(sizeof(OldInfo) == offsetof(snn_param_info, default_string), "layout");
    int32_t count = 0;
    ASSERT_SNN_OK(snn_model_params(SNN_MODEL_NEURON, "lif", nullptr, 0, &count));
    ASSERT_GT(count, 0);
    std::vector<OldInfo> infos(static_cast<std::size_t>(count) + 1);  // aligned storage
    std::memset(infos.data(), 0xAB, sizeof(OldInfo) * infos.size());
    for (int32_t i = 0; i < count; ++i) infos[static_cast<std::size_t>(i)].struct_size = sizeof(OldInfo);
    ASSERT_SNN_OK(snn_model_params(SNN_MODEL_NEURON, "lif", reinterpret_cast<snn_param_info*>(infos.data()), count, &count));
    bool found = false;
    for (int32_t i = 0; i < count; ++i) {
        const OldInfo& info = infos[static_cast<std::size_t>(i)];
        EXPECT_EQ(info.struct_size, sizeof(OldInfo));
        ASSERT_NE(info.name, nullptr);
        if (std::strcmp(info.name, "tau_mem") == 0) {
            found = true;
            EXPECT_EQ(info.kind, SNN_PARAM_NUMBER);
            EXPECT_DOUBLE_EQ(info.default_number, 20e-3);
        }
    }
    EXPECT_TRUE(found);
    const unsigned char* guard = reinterpret_cast<const unsigned char*>(&infos[static_cast<std::size_t>(count)]);
    for (std::size_t i = 0; i < sizeof(OldInfo); ++i) EXPECT_EQ(guard[i], 0xAB) << "written past the last element";
}

TEST(Models, ParamsRefusals) {
    int32_t count = 0;
    snn_param_info infos[64];
    for (auto& i : infos) i.struct_size = sizeof i;
    EXPECT_SNN_ERROR(snn_model_params(SNN_MODEL_NEURON, "no_such_model", infos, 64, &count), SNN_NOT_FOUND, "model");
    EXPECT_SNN_ERROR(snn_model_params(SNN_MODEL_SYNAPSE, "lif", infos, 64, &count), SNN_NOT_FOUND, "model");
    EXPECT_SNN_ERROR(snn_model_params(SNN_MODEL_NEURON, nullptr, infos, 64, &count), SNN_INVALID_ARGUMENT, "model");
    EXPECT_SNN_ERROR(snn_model_params(7, "lif", infos, 64, &count), SNN_INVALID_ARGUMENT, "kind");
    EXPECT_SNN_ERROR(snn_model_params(SNN_MODEL_NEURON, "lif", infos, 64, nullptr), SNN_INVALID_ARGUMENT, "out_count");
    EXPECT_SNN_ERROR(snn_model_params(SNN_MODEL_NEURON, "lif", nullptr, 64, &count), SNN_INVALID_ARGUMENT, "out_params");
    EXPECT_SNN_ERROR(snn_model_params(SNN_MODEL_NEURON, "lif", infos, -1, &count), SNN_INVALID_ARGUMENT, "capacity");
    ASSERT_SNN_OK(snn_model_params(SNN_MODEL_NEURON, "lif", nullptr, 0, &count));
    EXPECT_SNN_ERROR(snn_model_params(SNN_MODEL_NEURON, "lif", infos, count - 1, &count), SNN_SHAPE, "capacity");
    infos[0].struct_size = 0;
    EXPECT_SNN_ERROR(snn_model_params(SNN_MODEL_NEURON, "lif", infos, 64, &count), SNN_INVALID_ARGUMENT, "struct_size");
    EXPECT_NE(find_param(params_of(SNN_MODEL_NEURON, "lif"), "tau_mem"), nullptr);
}

TEST(Models, StateVars) {
    EXPECT_EQ(state_vars(SNN_MODEL_NEURON, "lif"), std::vector<std::string>{"v"});
    EXPECT_EQ(state_vars(SNN_MODEL_NEURON, "if"), std::vector<std::string>{"v"});
    std::vector<std::string> izh = state_vars(SNN_MODEL_NEURON, "izhikevich");
    EXPECT_TRUE(contains(izh, "v"));
    EXPECT_TRUE(contains(izh, "u"));
    EXPECT_TRUE(contains(state_vars(SNN_MODEL_NEURON, "alif"), "a"));
    EXPECT_TRUE(state_vars(SNN_MODEL_NEURON, "spike_source").empty());
    EXPECT_EQ(state_vars(SNN_MODEL_SYNAPSE, "exp"), std::vector<std::string>{"I"});
    EXPECT_EQ(state_vars(SNN_MODEL_SYNAPSE, "cond_exp"), std::vector<std::string>{"g"});
    EXPECT_TRUE(state_vars(SNN_MODEL_SYNAPSE, "delta").empty());

    int32_t count = 0;
    const char* names[8];
    EXPECT_SNN_ERROR(snn_model_state_vars(SNN_MODEL_NEURON, "nope", names, 8, &count), SNN_NOT_FOUND, "model");
    EXPECT_SNN_ERROR(snn_model_state_vars(SNN_MODEL_NEURON, nullptr, names, 8, &count), SNN_INVALID_ARGUMENT, "model");
    EXPECT_SNN_ERROR(snn_model_state_vars(99, "lif", names, 8, &count), SNN_INVALID_ARGUMENT, "kind");
    EXPECT_SNN_ERROR(snn_model_state_vars(SNN_MODEL_NEURON, "lif", names, 8, nullptr), SNN_INVALID_ARGUMENT, "out_count");
    EXPECT_SNN_ERROR(snn_model_state_vars(SNN_MODEL_NEURON, "izhikevich", names, 1, &count), SNN_SHAPE, "capacity");
    EXPECT_SNN_ERROR(snn_model_state_vars(SNN_MODEL_NEURON, "lif", nullptr, 1, &count), SNN_INVALID_ARGUMENT, "out_names");
}

TEST(Models, EveryModelIsUsableWithItsDefaults) {
    // Every listed neuron model builds; each listed parameter reads back as its
    // default (as float32), each option as its default string, each state
    // variable reads; and the network runs.
    Net net;
    std::vector<std::string> neurons = model_names(SNN_MODEL_NEURON);
    std::vector<int32_t> ids;
    for (const std::string& m : neurons) {
        int32_t id = net.pop((m + "_pop").c_str(), m.c_str(), 3);
        ids.push_back(id);
        for (const snn_param_info& p : params_of(SNN_MODEL_NEURON, m.c_str())) {
            if (p.kind == SNN_PARAM_NUMBER) {
                float values[3] = {0, 0, 0};
                int64_t count = 0;
                ASSERT_SNN_OK(snn_population_get_param(net, id, p.name, values, 3, &count));
                EXPECT_EQ(count, 3);
                for (float v : values) EXPECT_EQ(v, static_cast<float>(p.default_number)) << m << "." << p.name;
            } else {
                const char* value = nullptr;
                ASSERT_SNN_OK(snn_population_get_option(net, id, p.name, &value));
                EXPECT_STREQ(value, p.default_string) << m << "." << p.name;
            }
        }
        for (const std::string& var : state_vars(SNN_MODEL_NEURON, m.c_str())) EXPECT_EQ(net.state(id, var.c_str()).size(), 3u);
    }
    // Every synapse model connects an lif population.
    int32_t target = net.lif("target", 3);
    int32_t src = net.source("src", 3);
    for (const std::string& s : model_names(SNN_MODEL_SYNAPSE)) {
        int32_t c = net.one_to_one(src, target, 1e-3f, 1, s.c_str());
        snn_connection_info info;
        info.struct_size = sizeof info;
        ASSERT_SNN_OK(snn_connection_info_get(net, c, &info));
        EXPECT_STREQ(info.synapse, s.c_str());
        for (const snn_param_info& p : params_of(SNN_MODEL_SYNAPSE, s.c_str())) {
            double value = -1;
            ASSERT_SNN_OK(snn_connection_get_param(net, c, p.name, &value));
            EXPECT_EQ(value, static_cast<double>(static_cast<float>(p.default_number))) << s << "." << p.name;  // float32 as stored
        }
        for (const std::string& var : state_vars(SNN_MODEL_SYNAPSE, s.c_str())) EXPECT_EQ(net.conn_state(c, var.c_str()).size(), 3u);
    }
    net.run(20);
    EXPECT_EQ(net.step_count(), 20);
}

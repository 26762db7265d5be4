// The cross-language runner for C++ through include/snn/snn.hpp (protocol in
// README.md here).
//
//     cross_language_cpp network.snn copy|bound
#include <snn/snn.hpp>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <exception>
#include <vector>

namespace {

constexpr int64_t kSteps = 300;

struct Recorder {
    uint64_t hash = 0xCBF29CE484222325ull;
    int64_t count = 0;

    void mix_le(uint64_t value, int bytes) {
        for (int i = 0; i < bytes; ++i) hash = (hash ^ ((value >> (8 * i)) & 0xFFu)) * 0x100000001B3ull;
    }
    void add(int32_t tag, const snn::SpikeEvent& e) {
        for (int32_t id : e.neuron_ids) {
            mix_le(static_cast<uint32_t>(tag), 4);
            mix_le(static_cast<uint64_t>(e.step), 8);
            mix_le(static_cast<uint32_t>(e.batch_index), 4);
            mix_le(static_cast<uint32_t>(id), 4);
        }
        count += static_cast<int64_t>(e.neuron_ids.size());
    }
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3 || (std::strcmp(argv[2], "copy") != 0 && std::strcmp(argv[2], "bound") != 0)) {
        std::fprintf(stderr, "usage: %s network.snn copy|bound\n", argv[0]);
        return 2;
    }
    const bool bound = std::strcmp(argv[2], "bound") == 0;
    try {
        snn::Context ctx = snn::Context::create();
        snn::Network net = snn::Network::load(ctx, argv[1]);
        snn::Population in = net.population("in");
        Recorder rec;
        net.population("hid").on_spike([&rec](const snn::SpikeEvent& e) { rec.add(1, e); });
        net.population("out").on_spike([&rec](const snn::SpikeEvent& e) { rec.add(2, e); });
        const int64_t batch = net.batch(), n = in.size();
        std::vector<uint8_t> spikes(static_cast<std::size_t>(kSteps * batch * n));
        for (int64_t k = 0; k < kSteps; ++k)
            for (int64_t b = 0; b < batch; ++b)
                for (int64_t j = 0; j < n; ++j)
                    spikes[static_cast<std::size_t>((k * batch + b) * n + j)] = (k * 7 + b * 13 + j * 3) % 11 == 0;
        if (bound) {
            in.bind_input(snn::Span<const uint8_t>(spikes), kSteps);
            net.run(kSteps);
        } else {
            const std::size_t per_step = static_cast<std::size_t>(batch * n);
            for (int64_t k = 0; k < kSteps; ++k) {
                in.set_input(snn::Span<const uint8_t>(spikes.data() + static_cast<std::size_t>(k) * per_step, per_step));
                net.step();
            }
        }
        std::printf("%s spikes=%" PRId64 " fnv1a64=%016" PRIx64 "\n", argv[2], rec.count, rec.hash);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
    return 0;
}

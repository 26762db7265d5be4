// SnnRealtimeRunner.h — steps a libsnn network in real time from a game loop.
//
// Engine-independent C++17 over snn.hpp's Status forms, so it compiles with
// and without exceptions. USnnNetworkComponent (the Unreal plugin) delegates
// to it; tests/cpp/test_realtime.cpp tests it in CI, where Unreal itself
// cannot be built.
//
// Each frame, advance(frame_seconds) runs the whole steps of length dt that
// the elapsed time owes (the remainder carries over to the next frame), at
// most max_steps_per_advance of them (a long frame drops the rest instead of
// stalling the game), in one snn_network_run. The input population reads a
// [batch][n] float buffer bound in place: write it with input() between
// frames. Spikes of the reported populations are collected during the run
// and readable until the next advance.
#pragma once

#include <snn/snn.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace snn {

struct RealtimeSettings {
    std::string network_file;            // the .snn file open() loads
    std::string backend = "auto";        // "auto", "cpu", "reference"
    int32_t threads = 1;                 // libsnn worker threads; 1: none besides the caller's
    int32_t batch = 0;                   // instances; 0: as saved in the file
    std::string input_population;        // a source population fed from input(); "" for none
    std::vector<std::string> spike_populations;  // reported; empty: every population that is not a source
    int32_t max_steps_per_advance = 100;  // owed steps beyond this are dropped
};

// One callback's worth of spikes: instance `batch_index` of
// populations()[population] spiked in `step`, neurons `neuron_ids` (ascending).
struct RealtimeSpikes {
    int32_t population;
    int64_t step;
    int32_t batch_index;
    Span<const int32_t> neuron_ids;
};

class RealtimeRunner {
public:
    RealtimeRunner() = default;
    // Callbacks point at the runner: it stays where it was opened.
    RealtimeRunner(const RealtimeRunner&) = delete;
    RealtimeRunner& operator=(const RealtimeRunner&) = delete;
    ~RealtimeRunner() { close(); }

    // Creates a context, loads settings.network_file and prepares input and callbacks.
    bool open(const RealtimeSettings& settings, Status& status) {
        close();
        ContextOptions options;
        options.backend(settings.backend).threads(settings.threads);
        Context context = Context::create(options, status);
        if (!status.ok()) return false;
        Network network = Network::load(context, settings.network_file, LoadOptions().batch(settings.batch), status);
        if (!status.ok()) return false;
        return open(std::move(context), std::move(network), settings, status);
    }

    // Runs a network built in code (settings.network_file, backend, threads
    // and batch are not used).
    bool open(Context context, Network network, const RealtimeSettings& settings, Status& status) {
        close();
        context_ = std::move(context);
        network_ = std::move(network);
        max_steps_ = settings.max_steps_per_advance;
        if (max_steps_ < 1)
            fail(status, SNN_INVALID_ARGUMENT, "max_steps_per_advance: must be >= 1");
        else if (prepare(settings, status))
            return true;
        close();
        return false;
    }

    bool is_open() const noexcept { return static_cast<bool>(network_); }

    // Adds `seconds` of game time and runs the steps it owes. Returns the
    // number of steps run (0 on failure, with status set).
    int64_t advance(double seconds, Status& status) {
        events_.clear();
        ids_.clear();
        if (!network_) {
            fail(status, SNN_STATE, "runner: not open");
            return 0;
        }
        if (!std::isfinite(seconds) || seconds < 0.0) {
            fail(status, SNN_INVALID_ARGUMENT, "seconds: must be finite and >= 0");
            return 0;
        }
        pending_ += seconds;
        // The 1e-6 step of slack keeps 3 x 1 ms frames at dt = 1 ms from owing 2.999... steps.
        int64_t owed = static_cast<int64_t>(std::floor(pending_ / dt_ + 1e-6));
        if (owed > 0) pending_ = (std::max)(0.0, pending_ - static_cast<double>(owed) * dt_);
        if (owed > max_steps_) {
            dropped_ += owed - max_steps_;
            owed = max_steps_;
        }
        status.clear();
        if (owed == 0) return 0;
        const int64_t before = network_.current_step(status);
        if (!status.ok()) return 0;
        network_.run(owed, status);
        if (!status.ok()) return 0;
        return network_.current_step(status) - before;
    }

    // The input population's buffer, [batch][n], read in place by every step.
    Span<float> input() noexcept { return Span<float>(input_.data(), input_.size()); }

    // The spikes collected by the last advance, in callback order.
    std::size_t spike_count() const noexcept { return events_.size(); }
    RealtimeSpikes spikes(std::size_t index) const noexcept {
        const Event& e = events_[index];
        return RealtimeSpikes{e.population, e.step, e.batch_index,
                              Span<const int32_t>(ids_.data() + e.first, static_cast<std::size_t>(e.count))};
    }
    // Names of the reported populations (RealtimeSpikes::population indexes this).
    const std::vector<std::string>& populations() const noexcept { return names_; }

    // Back to the network's initial state at step 0; forgets owed time.
    bool reset(Status& status) {
        events_.clear();
        ids_.clear();
        pending_ = 0.0;
        dropped_ = 0;
        network_.reset(status);
        return status.ok();
    }

    double dt() const noexcept { return dt_; }
    // Steps owed but not run because a frame owed more than max_steps_per_advance.
    int64_t dropped_steps() const noexcept { return dropped_; }
    // Time carried over to the next advance (less than one step).
    double pending_seconds() const noexcept { return pending_; }
    Network& network() noexcept { return network_; }
    Context& context() noexcept { return context_; }

    void close() noexcept {
        network_.close();  // before the buffer it reads and the context
        context_.close();
        input_.clear();
        names_.clear();
        events_.clear();
        ids_.clear();
        pending_ = 0.0;
        dropped_ = 0;
        dt_ = 0.0;
    }

private:
    struct Event {
        int32_t population;
        int64_t step;
        int32_t batch_index;
        std::size_t first;
        int32_t count;
    };

    static bool fail(Status& status, snn_status code, const char* message) {
        status = Status(code, message);
        return false;
    }

    bool prepare(const RealtimeSettings& settings, Status& status) {
        dt_ = network_.dt(status);
        if (!status.ok()) return false;
        const int32_t batch = network_.batch(status);
        if (!status.ok()) return false;
        if (!settings.input_population.empty()) {
            Population in = network_.population(settings.input_population, status);
            if (!status.ok()) return false;
            input_.assign(static_cast<std::size_t>(batch) * static_cast<std::size_t>(in.size()), 0.0f);
            in.bind_input(Span<const float>(input_.data(), input_.size()), 0, status);
            if (!status.ok()) return false;
        }
        std::vector<Population> reported;
        if (settings.spike_populations.empty()) {
            const std::vector<Population> all = network_.populations(status);
            if (!status.ok()) return false;
            for (const Population& p : all) {
                const bool source = status.ok() && p.is_input(status);
                if (!status.ok()) return false;
                if (!source) reported.push_back(p);
            }
        } else {
            for (const std::string& name : settings.spike_populations) {
                reported.push_back(network_.population(name, status));
                if (!status.ok()) return false;
            }
        }
        for (std::size_t k = 0; k < reported.size(); ++k) {
            names_.push_back(reported[k].name(status));
            if (!status.ok()) return false;
            const int32_t index = static_cast<int32_t>(k);
            reported[k].on_spike(
                [this, index](int64_t step, int32_t batch_index, Span<const int32_t> ids) {
                    events_.push_back(Event{index, step, batch_index, ids_.size(), static_cast<int32_t>(ids.size())});
                    ids_.insert(ids_.end(), ids.begin(), ids.end());
                },
                status);
            if (!status.ok()) return false;
        }
        return true;
    }

    Context context_;
    Network network_;
    std::vector<float> input_;
    std::vector<std::string> names_;
    std::vector<Event> events_;
    std::vector<int32_t> ids_;
    double dt_ = 0.0;
    double pending_ = 0.0;
    int64_t dropped_ = 0;
    int64_t max_steps_ = 100;
};

}  // namespace snn

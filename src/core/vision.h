// The image front end (docs/vision.md): filter kernels, filtering a batch of
// images, ZCA whitening, latency coding and spike-tensor decoders. Stateless
// functions over caller buffers; they check their arguments and throw
// snn::Error (the extern "C" shims in src/api catch it). Sizes of the
// caller's output buffers are checked by the shims.
#pragma once

#include <cstdint>

#include "snn/snn.h"

namespace snn::vision {

// Checks the options; the number of kernels they make.
int32_t filter_count(const snn_filter_options& o);
// Writes filter_count(o) kernels of o.size x o.size values.
void filter_kernels(const snn_filter_options& o, float* out);

// Checks the geometry; the number of output values.
int64_t image_filter_count(const snn_image_filter_geometry& g);
void image_filter(const snn_image_filter_geometry& g, const float* images, const float* kernels, float* out);

// Checks rows and columns; rows * columns.
int64_t zca_size(int64_t rows, int64_t columns);
void zca_fit(const float* data, int64_t rows, int64_t columns, double epsilon, float* mean, float* whitening);
void zca_apply(const float* data, int64_t rows, int64_t columns, const float* mean, const float* whitening, float* out);

// Checks the sizes; batch * neurons (the spike tensor has steps times that).
int64_t spike_tensor_size(int64_t steps, int32_t batch, int64_t neurons, const char* steps_name);
void latency_encode(const float* values, int32_t batch, int64_t neurons, int32_t steps, const snn_latency_options& o,
                    int32_t* first, uint8_t* spikes);
void spikes_first_step(const uint8_t* spikes, int64_t steps, int32_t batch, int64_t neurons, int32_t* first);
void spikes_count(const uint8_t* spikes, int64_t steps, int32_t batch, int64_t neurons, int32_t* counts);

}  // namespace snn::vision

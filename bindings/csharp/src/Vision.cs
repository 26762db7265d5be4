using System;
using System.Runtime.InteropServices;
using Snn.Interop;

namespace Snn
{
    /// <summary>Pooling after a conv2d connection.</summary>
    public enum Pool
    {
        /// <summary>No pooling.</summary>
        None = SnnNative.SNN_POOL_NONE,
        /// <summary>The largest value of each window.</summary>
        Max = SnnNative.SNN_POOL_MAX,
        /// <summary>The window's sum divided by its size.</summary>
        Avg = SnnNative.SNN_POOL_AVG,
        /// <summary>The window's sum.</summary>
        Sum = SnnNative.SNN_POOL_SUM,
    }

    /// <summary>The shape of a conv2d connection (<see cref="Network.ConnectConv2d"/>); the defaults
    /// are libsnn's (stride 1, no padding, no bias, no pooling).</summary>
    public sealed unsafe class Conv2dGeometry
    {
        /// <summary>A convolution of [inChannels, inHeight, inWidth] with kernels [outChannels][inChannels][kernelHeight][kernelWidth].</summary>
        public Conv2dGeometry(int inChannels, int inHeight, int inWidth, int outChannels, int kernelHeight, int kernelWidth)
        {
            snn_conv2d_geometry g;
            SnnException.Check(SnnNative.snn_conv2d_geometry_init(&g, (uint)sizeof(snn_conv2d_geometry)));
            g.in_channels = inChannels;
            g.in_height = inHeight;
            g.in_width = inWidth;
            g.out_channels = outChannels;
            g.kernel_height = kernelHeight;
            g.kernel_width = kernelWidth;
            Read(g);
        }

        internal Conv2dGeometry(snn_conv2d_geometry g) { Read(g); }

        /// <summary>Input channels, height and width of the presynaptic population. (InChannels)</summary>
        public int InChannels;
        /// <summary>Input channels, height and width of the presynaptic population. (InHeight)</summary>
        public int InHeight;
        /// <summary>Input channels, height and width of the presynaptic population. (InWidth)</summary>
        public int InWidth;
        /// <summary>Output channels.</summary>
        public int OutChannels;
        /// <summary>The kernel's height and width. (KernelHeight)</summary>
        public int KernelHeight;
        /// <summary>The kernel's height and width. (KernelWidth)</summary>
        public int KernelWidth;
        /// <summary>Strides. (StrideY)</summary>
        public int StrideY;
        /// <summary>Strides. (StrideX)</summary>
        public int StrideX;
        /// <summary>Zeros around the input. (PaddingY)</summary>
        public int PaddingY;
        /// <summary>Zeros around the input. (PaddingX)</summary>
        public int PaddingX;
        /// <summary>A bias per output channel follows the kernel in the weights.</summary>
        public bool Bias;
        /// <summary>Pooling after the convolution.</summary>
        public Pool Pool;
        /// <summary>The pool's window. (PoolHeight)</summary>
        public int PoolHeight;
        /// <summary>The pool's window. (PoolWidth)</summary>
        public int PoolWidth;
        /// <summary>The pool's strides; 0: its size. (PoolStrideY)</summary>
        public int PoolStrideY;
        /// <summary>The pool's strides; 0: its size. (PoolStrideX)</summary>
        public int PoolStrideX;

        /// <summary>The number of weights: the kernel, then any biases.</summary>
        public long WeightCount => (long)OutChannels * InChannels * KernelHeight * KernelWidth + (Bias ? OutChannels : 0);

        void Read(snn_conv2d_geometry g)
        {
            InChannels = g.in_channels;
            InHeight = g.in_height;
            InWidth = g.in_width;
            OutChannels = g.out_channels;
            KernelHeight = g.kernel_height;
            KernelWidth = g.kernel_width;
            StrideY = g.stride_y;
            StrideX = g.stride_x;
            PaddingY = g.padding_y;
            PaddingX = g.padding_x;
            Bias = g.bias != 0;
            Pool = (Pool)g.pool;
            PoolHeight = g.pool_height;
            PoolWidth = g.pool_width;
            PoolStrideY = g.pool_stride_y;
            PoolStrideX = g.pool_stride_x;
        }

        internal snn_conv2d_geometry ToNative()
        {
            snn_conv2d_geometry g;
            SnnException.Check(SnnNative.snn_conv2d_geometry_init(&g, (uint)sizeof(snn_conv2d_geometry)));
            g.in_channels = InChannels;
            g.in_height = InHeight;
            g.in_width = InWidth;
            g.out_channels = OutChannels;
            g.kernel_height = KernelHeight;
            g.kernel_width = KernelWidth;
            g.stride_y = StrideY;
            g.stride_x = StrideX;
            g.padding_y = PaddingY;
            g.padding_x = PaddingX;
            g.bias = Bias ? 1 : 0;
            g.pool = (int)Pool;
            g.pool_height = PoolHeight;
            g.pool_width = PoolWidth;
            g.pool_stride_y = PoolStrideY;
            g.pool_stride_x = PoolStrideX;
            return g;
        }
    }

    /// <summary>A named filter of <see cref="Vision.FilterKernels"/> and its parameters, with libsnn's defaults.</summary>
    public sealed unsafe class FilterOptions
    {
        /// <summary>The defaults of <c>snn_filter_options_init</c> for a filter: "dog", "log" or "gabor".</summary>
        public FilterOptions(string filter = "dog")
        {
            snn_filter_options o;
            SnnException.Check(SnnNative.snn_filter_options_init(&o, (uint)sizeof(snn_filter_options)));
            Filter = filter;
            Size = o.size;
            Sigma1 = o.sigma1;
            Sigma2 = o.sigma2;
            Sigma = o.sigma;
            Wavelength = o.wavelength;
            Gamma = o.gamma;
            Psi = o.psi;
            Orientations = o.orientations;
            ZeroMean = o.zero_mean != 0;
        }

        /// <summary>"dog", "log" or "gabor".</summary>
        public string Filter;
        /// <summary>The kernel's side (odd).</summary>
        public int Size;
        /// <summary>dog: the centre's and the surround's standard deviations. (Sigma1)</summary>
        public double Sigma1;
        /// <summary>dog: the centre's and the surround's standard deviations. (Sigma2)</summary>
        public double Sigma2;
        /// <summary>log, gabor: the Gaussian's standard deviation.</summary>
        public double Sigma;
        /// <summary>gabor: wavelength, spatial aspect ratio, phase offset. (Wavelength)</summary>
        public double Wavelength;
        /// <summary>gabor: wavelength, spatial aspect ratio, phase offset. (Gamma)</summary>
        public double Gamma;
        /// <summary>gabor: wavelength, spatial aspect ratio, phase offset. (Psi)</summary>
        public double Psi;
        /// <summary>gabor: the number of kernels (at k * pi / Orientations unless Thetas is set).</summary>
        public int Orientations;
        /// <summary>gabor: one angle (radians) per kernel, or null.</summary>
        public double[] Thetas;
        /// <summary>Each kernel minus its mean.</summary>
        public bool ZeroMean;
    }

    /// <summary>Padding of <see cref="Vision.ImageFilter"/>.</summary>
    public enum Padding
    {
        /// <summary>Only positions where the kernel lies inside the image.</summary>
        Valid = SnnNative.SNN_PADDING_VALID,
        /// <summary>Zeros around the image; the output has the input's size (odd kernels).</summary>
        Same = SnnNative.SNN_PADDING_SAME,
    }

    /// <summary>Rules of <see cref="Vision.LatencyEncode"/>.</summary>
    public enum LatencyRule
    {
        /// <summary>Rank order: sorted by value, spread evenly over the steps.</summary>
        Rank = SnnNative.SNN_LATENCY_RANK,
        /// <summary>Step round((1 - clip(v, 0, 1)) * (steps - 1)).</summary>
        Linear = SnnNative.SNN_LATENCY_LINEAR,
    }

    /// <summary>Stateless image functions (docs/vision.md): filter banks, image filtering, ZCA
    /// whitening, latency coding and spike decoders. Images are float [batch][channels][height][width].</summary>
    public static unsafe class Vision
    {
        /// <summary>The kernels of a filter, [filters][size][size].</summary>
        public static float[] FilterKernels(FilterOptions options, out int filters)
        {
            if (options == null) throw new InvalidArgumentException("options: must not be null");
            snn_filter_options o;
            SnnException.Check(SnnNative.snn_filter_options_init(&o, (uint)sizeof(snn_filter_options)));
            byte* buffer = stackalloc byte[Utf8.NameCapacity];
            o.filter = Utf8.Name(options.Filter, buffer, "filter");
            o.size = options.Size;
            o.sigma1 = options.Sigma1;
            o.sigma2 = options.Sigma2;
            o.sigma = options.Sigma;
            o.wavelength = options.Wavelength;
            o.gamma = options.Gamma;
            o.psi = options.Psi;
            o.orientations = options.Thetas != null ? options.Thetas.Length : options.Orientations;
            o.zero_mean = options.ZeroMean ? 1 : 0;
            fixed (double* thetas = options.Thetas)
            {
                o.thetas = thetas;
                long count;
                int n;
                SnnException.Check(SnnNative.snn_filter_kernels(&o, null, 0, &count, &n));
                var kernels = new float[count];
                fixed (float* k = kernels)
                    SnnException.Check(SnnNative.snn_filter_kernels(&o, k, count, &count, &n));
                filters = n;
                return kernels;
            }
        }

        /// <summary>Filters images [batch][channels][height][width] with kernels
        /// [filters][channels][kernelHeight][kernelWidth] (PyTorch's conv2d cross-correlation,
        /// stride 1): [batch][filters (x 2 with onOff)][outHeight][outWidth].</summary>
        public static float[] ImageFilter(ReadOnlySpan<float> images, int batch, int channels, int height, int width,
                                          ReadOnlySpan<float> kernels, int filters, int kernelHeight, int kernelWidth,
                                          Padding padding = Padding.Valid, bool onOff = false)
        {
            // libsnn reads the arrays by the geometry alone: check them here.
            CheckLength(images.Length, "images", batch, channels, height, width);
            CheckLength(kernels.Length, "kernels", filters, channels, kernelHeight, kernelWidth);
            snn_image_filter_geometry g;
            SnnException.Check(SnnNative.snn_image_filter_geometry_init(&g, (uint)sizeof(snn_image_filter_geometry)));
            g.batch = batch;
            g.channels = channels;
            g.height = height;
            g.width = width;
            g.filters = filters;
            g.kernel_height = kernelHeight;
            g.kernel_width = kernelWidth;
            g.padding = (int)padding;
            g.on_off = onOff ? 1 : 0;
            fixed (float* i = &MemoryMarshal.GetReference(images))
            fixed (float* k = &MemoryMarshal.GetReference(kernels))
            {
                long count;
                SnnException.Check(SnnNative.snn_image_filter(&g, i, k, null, 0, &count));
                var output = new float[count];
                fixed (float* o = output)
                    SnnException.Check(SnnNative.snn_image_filter(&g, i, k, o, count, &count));
                return output;
            }
        }

        /// <summary>Fits ZCA whitening on data [rows][columns]: returns W [columns][columns] and the mean [columns].</summary>
        public static float[] ZcaFit(ReadOnlySpan<float> data, long rows, long columns, double epsilon, out float[] mean)
        {
            CheckLength(data.Length, "data", rows, columns);
            long c = Math.Max(columns, 0);
            var m = new float[c];
            var w = new float[c * c];
            fixed (float* d = &MemoryMarshal.GetReference(data))
            fixed (float* pm = m)
            fixed (float* pw = w)
                SnnException.Check(SnnNative.snn_zca_fit(d, rows, columns, epsilon, pm, m.Length, pw, w.Length));
            mean = m;
            return w;
        }

        /// <summary>Whitens rows of mean.Length values: W (row - mean) each.</summary>
        public static float[] ZcaApply(ReadOnlySpan<float> data, float[] mean, float[] whitening)
        {
            if (mean == null || whitening == null || mean.Length == 0 || whitening.Length != (long)mean.Length * mean.Length)
                throw new InvalidArgumentException("mean, whitening: not a fitted whitening ([columns] and [columns][columns])");
            if (data.Length % mean.Length != 0)
                throw new ShapeException("data: " + data.Length + " values given; not rows of " + mean.Length);
            var output = new float[data.Length];
            fixed (float* d = &MemoryMarshal.GetReference(data))
            fixed (float* m = mean)
            fixed (float* w = whitening)
            fixed (float* o = output)
                SnnException.Check(SnnNative.snn_zca_apply(d, data.Length / mean.Length, mean.Length, m, w, o, output.Length));
            return output;
        }

        /// <summary>Intensity-to-latency coding of values [batch][neurons] over steps steps: returns
        /// each neuron's spike step (-1: none), [batch][neurons], and the spikes [steps][batch][neurons].</summary>
        public static int[] LatencyEncode(ReadOnlySpan<float> values, int batch, int steps, out byte[] spikes,
                                          LatencyRule rule = LatencyRule.Rank, double threshold = 0)
        {
            if (batch > 0 && values.Length % batch != 0)
                throw new ShapeException("values: " + values.Length + " values given; not [" + batch + ", neurons]");
            long neurons = batch > 0 ? values.Length / batch : 0;
            snn_latency_options o;
            SnnException.Check(SnnNative.snn_latency_options_init(&o, (uint)sizeof(snn_latency_options)));
            o.rule = (int)rule;
            o.threshold = threshold;
            var first = new int[Math.Max(batch, 0) * neurons];
            var s = new byte[Math.Max(steps, 0) * first.LongLength];
            fixed (float* v = &MemoryMarshal.GetReference(values))
            fixed (int* f = first)
            fixed (byte* p = s)
                SnnException.Check(SnnNative.snn_latency_encode(v, batch, neurons, steps, &o, f, first.Length, p, s.Length));
            spikes = s;
            return first;
        }

        /// <summary>The first step with a spike (-1: none) of each neuron of a recorded
        /// [steps][batch][neurons] tensor (nonzero = spike), [batch][neurons].</summary>
        public static int[] SpikesFirstStep(ReadOnlySpan<byte> spikes, long steps, int batch)
        {
            return Decode(spikes, steps, batch, true);
        }

        /// <summary>The number of steps with a spike of each neuron, [batch][neurons].</summary>
        public static int[] SpikesCount(ReadOnlySpan<byte> spikes, long steps, int batch)
        {
            return Decode(spikes, steps, batch, false);
        }

        static int[] Decode(ReadOnlySpan<byte> spikes, long steps, int batch, bool first)
        {
            if (steps > 0 && batch > 0 && spikes.Length % (steps * batch) != 0)
                throw new ShapeException("spikes: " + spikes.Length + " values given; not [" + steps + ", " + batch + ", neurons]");
            long neurons = steps > 0 && batch > 0 ? spikes.Length / (steps * batch) : 0;
            var output = new int[Math.Max(batch, 0) * neurons];
            fixed (byte* s = &MemoryMarshal.GetReference(spikes))
            fixed (int* o = output)
                SnnException.Check(first ? SnnNative.snn_spikes_first_step(s, steps, batch, neurons, o, output.Length)
                                         : SnnNative.snn_spikes_count(s, steps, batch, neurons, o, output.Length));
            return output;
        }

        static void CheckLength(long given, string what, params long[] dims)
        {
            long needed = 1;
            foreach (long d in dims)
            {
                if (d <= 0) return;  // libsnn names the bad size
                needed *= d;
            }
            if (given != needed)
                throw new ShapeException(what + ": " + given + " values given; the geometry needs " + needed);
        }
    }
}

// Copied from bindings/csharp/src/Library.cs by engines/unity/Tools~/sync.py: edit the original.
using System;
using Snn.Interop;

namespace Snn
{
    /// <summary>Element types of tensors and bound buffers.</summary>
    public enum DType
    {
        /// <summary>float (4 bytes).</summary>
        Float32 = SnnNative.SNN_DTYPE_FLOAT32,
        /// <summary>double (8 bytes).</summary>
        Float64 = SnnNative.SNN_DTYPE_FLOAT64,
        /// <summary>byte.</summary>
        UInt8 = SnnNative.SNN_DTYPE_UINT8,
        /// <summary>int (4 bytes).</summary>
        Int32 = SnnNative.SNN_DTYPE_INT32,
        /// <summary>long (8 bytes).</summary>
        Int64 = SnnNative.SNN_DTYPE_INT64,
        /// <summary>One byte, 0 or 1.</summary>
        Bool = SnnNative.SNN_DTYPE_BOOL,
    }

    /// <summary>Kinds of models in the registry.</summary>
    public enum ModelKind
    {
        /// <summary>Neuron models ("lif", "poisson", ...).</summary>
        Neuron = SnnNative.SNN_MODEL_NEURON,
        /// <summary>Synapse models ("delta", "exp", "cond_exp").</summary>
        Synapse = SnnNative.SNN_MODEL_SYNAPSE,
        /// <summary>Learning rules of connections (option "plasticity": "stdp", ...).</summary>
        Plasticity = SnnNative.SNN_MODEL_PLASTICITY,
    }

    /// <summary>Distributions for RandomizeState.</summary>
    public enum Distribution
    {
        /// <summary>a = low, b = high: values in [a, b).</summary>
        Uniform = SnnNative.SNN_DIST_UNIFORM,
        /// <summary>a = mean, b = standard deviation.</summary>
        Normal = SnnNative.SNN_DIST_NORMAL,
    }

    /// <summary>How a connection stores its synapses.</summary>
    public enum ConnectionKind
    {
        /// <summary>A [pre, post] matrix.</summary>
        Dense = SnnNative.SNN_CONNECTION_DENSE,
        /// <summary>CSR rows of presynaptic neurons.</summary>
        Sparse = SnnNative.SNN_CONNECTION_SPARSE,
        /// <summary>Neuron i to neuron i.</summary>
        OneToOne = SnnNative.SNN_CONNECTION_ONE_TO_ONE,
        /// <summary>A shared kernel over a [C, H, W] population.</summary>
        Conv2d = SnnNative.SNN_CONNECTION_CONV2D,
    }

    /// <summary>One parameter of a model, from the registry.</summary>
    public sealed class ParamInfo
    {
        internal ParamInfo(string name, bool isString, double defaultNumber, string defaultString, string unit,
                           string[] choices, string description)
        {
            Name = name;
            IsString = isString;
            DefaultNumber = defaultNumber;
            DefaultString = defaultString;
            Unit = unit;
            Choices = choices;
            Description = description;
        }

        /// <summary>The parameter's name ("tau_mem").</summary>
        public string Name { get; }
        /// <summary>True for a string option (set with SetOption), false for a number.</summary>
        public bool IsString { get; }
        /// <summary>The default of a number.</summary>
        public double DefaultNumber { get; }
        /// <summary>The default of a string option; null for numbers.</summary>
        public string DefaultString { get; }
        /// <summary>"s", "V", "Hz", "1", ... ("" for strings).</summary>
        public string Unit { get; }
        /// <summary>The values a string option allows; empty for numbers.</summary>
        public string[] Choices { get; }
        /// <summary>What the parameter means.</summary>
        public string Description { get; }

        /// <inheritdoc/>
        public override string ToString()
        {
            return IsString ? Name + " = \"" + DefaultString + "\" (" + string.Join("|", Choices) + ")"
                            : Name + " = " + DefaultNumber + " " + Unit;
        }
    }

    /// <summary>The library: versions, backends and the model registry.</summary>
    public static unsafe class Library
    {
        static volatile bool s_checked;

        /// <summary>The version of the header this binding was generated from.</summary>
        public static Version BindingVersion =>
            new Version(SnnNative.SNN_VERSION_MAJOR, SnnNative.SNN_VERSION_MINOR, SnnNative.SNN_VERSION_PATCH);

        /// <summary>The version of the native library that was loaded.</summary>
        public static Version NativeVersion
        {
            get
            {
                uint v = SnnNative.snn_version();
                return new Version((int)(v / 10000), (int)(v / 100 % 100), (int)(v % 100));
            }
        }

        /// <summary>The native library's version as "MAJOR.MINOR.PATCH".</summary>
        public static string NativeVersionString => Utf8.Read(SnnNative.snn_version_string());

        /// <summary>Throws <see cref="UnsupportedException"/> when the loaded native library has
        /// another major version than this binding (or an older minor one, which lacks functions
        /// the binding may call), and a DllNotFoundException that says where to put the library
        /// when there is none. Contexts call it before their first use of the library.</summary>
        public static void CheckVersion()
        {
            if (s_checked) return;
            Version native, binding = BindingVersion;
            try
            {
                native = NativeVersion;
            }
            catch (DllNotFoundException e)
            {
                throw new DllNotFoundException(
                    "libsnn: the native library \"" + SnnNative.Library + "\" (libsnn.so, libsnn.dylib or snn.dll) was not " +
                    "found: put its folder on the library path (LD_LIBRARY_PATH, DYLD_LIBRARY_PATH), next to the " +
                    "application, or in the engine's plugin folder (" + e.Message + ")", e);
            }
            if (native.Major != binding.Major || native.Minor < binding.Minor)
                throw new UnsupportedException("libsnn: the native library is version " + native +
                                               "; this binding needs " + binding.Major + "." + binding.Minor +
                                               " or a later " + binding.Major + ".x");
            s_checked = true;
        }

        /// <summary>The backends this build of libsnn can run, in order of preference.</summary>
        public static string[] Backends
        {
            get
            {
                int count;
                SnnException.Check(SnnNative.snn_backend_list(null, 0, &count));
                byte** names = stackalloc byte*[count];
                SnnException.Check(SnnNative.snn_backend_list(names, count, &count));
                return ReadAll(names, count);
            }
        }

        /// <summary>The names of the models of a kind ("lif", "poisson", ...).</summary>
        public static string[] Models(ModelKind kind)
        {
            int count;
            SnnException.Check(SnnNative.snn_model_list((int)kind, null, 0, &count));
            byte** names = stackalloc byte*[count];
            SnnException.Check(SnnNative.snn_model_list((int)kind, names, count, &count));
            return ReadAll(names, count);
        }

        /// <summary>The parameters of a model with their defaults and units.</summary>
        public static ParamInfo[] ModelParams(ModelKind kind, string model)
        {
            byte* name = stackalloc byte[Utf8.NameCapacity];
            byte* m = Utf8.Name(model, name, "model");
            int count;
            SnnException.Check(SnnNative.snn_model_params((int)kind, m, null, 0, &count));
            var infos = new snn_param_info[count];
            fixed (snn_param_info* p = infos)
            {
                for (int i = 0; i < count; ++i) p[i].struct_size = (uint)sizeof(snn_param_info);
                SnnException.Check(SnnNative.snn_model_params((int)kind, m, p, count, &count));
            }
            var result = new ParamInfo[count];
            for (int i = 0; i < count; ++i)
            {
                snn_param_info info = infos[i];
                string choices = Utf8.Read(info.choices);
                result[i] = new ParamInfo(Utf8.Read(info.name), info.kind == SnnNative.SNN_PARAM_STRING,
                                          info.default_number, Utf8.Read(info.default_string),
                                          Utf8.Read(info.unit),
                                          string.IsNullOrEmpty(choices) ? new string[0] : choices.Split('|'),
                                          Utf8.Read(info.description));
            }
            return result;
        }

        /// <summary>The names of a model's state variables ("v", "I", ...).</summary>
        public static string[] ModelStateVars(ModelKind kind, string model)
        {
            byte* name = stackalloc byte[Utf8.NameCapacity];
            byte* m = Utf8.Name(model, name, "model");
            int count;
            SnnException.Check(SnnNative.snn_model_state_vars((int)kind, m, null, 0, &count));
            byte** names = stackalloc byte*[count];
            SnnException.Check(SnnNative.snn_model_state_vars((int)kind, m, names, count, &count));
            return ReadAll(names, count);
        }

        static string[] ReadAll(byte** names, int count)
        {
            var result = new string[count];
            for (int i = 0; i < count; ++i) result[i] = Utf8.Read(names[i]);
            return result;
        }
    }
}

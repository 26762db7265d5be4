using System;
using System.Runtime.InteropServices;
using System.Threading;
using Snn.Interop;

namespace Snn
{
    /// <summary>Owns an <c>snn_context*</c>; destroys it when released. Each network
    /// created on the context holds a reference, so the context outlives its networks
    /// whatever order they are disposed or finalized in.</summary>
    public sealed unsafe class ContextHandle : SafeHandle
    {
        internal ContextHandle() : base(IntPtr.Zero, true) { }

        /// <inheritdoc/>
        public override bool IsInvalid => handle == IntPtr.Zero;

        internal snn_context* Pointer => (snn_context*)handle;

        internal void Set(snn_context* context) { SetHandle((IntPtr)context); }

        /// <summary>True once Dispose was called (the context may live on for its networks).</summary>
        internal bool Disposed { get; private set; }

        /// <inheritdoc/>
        protected override void Dispose(bool disposing)
        {
            Disposed = true;
            base.Dispose(disposing);
        }

        /// <inheritdoc/>
        protected override bool ReleaseHandle()
        {
            SnnNative.snn_context_destroy((snn_context*)handle);
            return true;
        }
    }

    /// <summary>
    /// A backend with its threads and memory: networks are created on a context.
    /// Thread-safe: networks on one context may run on different threads at once.
    /// Dispose it (or let it be collected) when done; it stays alive while any of
    /// its networks does.
    /// </summary>
    public sealed unsafe class Context : IDisposable
    {
        static Context s_default;

        readonly ContextHandle _handle;

        /// <summary>Creates a context.</summary>
        /// <param name="backend">"auto" (null: "auto"), "cpu" or "reference".</param>
        /// <param name="threads">Worker threads; 0 = one per hardware core.</param>
        /// <param name="simd">The "cpu" backend's SIMD level: "auto" (null), "avx512", "avx2" or "generic".</param>
        public Context(string backend = null, int threads = 0, string simd = null)
        {
            Library.CheckVersion();
            snn_context_options options;
            SnnException.Check(SnnNative.snn_context_options_init(&options, (uint)sizeof(snn_context_options)));
            options.threads = threads;
            byte[] b = Utf8.Bytes(backend, "backend"), s = Utf8.Bytes(simd, "simd");
            _handle = new ContextHandle();
            fixed (byte* pb = b)
            fixed (byte* ps = s)
            {
                options.backend = pb;
                options.simd = ps;
                snn_context* ctx = null;
                SnnException.Check(SnnNative.snn_context_create(&options, &ctx));
                _handle.Set(ctx);
            }
        }

        /// <summary>A context with the default options ("auto" backend), created on first
        /// use and kept for the life of the process. Networks made without a context use it.</summary>
        public static Context Default
        {
            get
            {
                Context c = s_default;
                if (c != null) return c;
                c = new Context();
                Context previous = Interlocked.CompareExchange(ref s_default, c, null);
                if (previous != null)
                {
                    c.Dispose();
                    return previous;
                }
                return c;
            }
        }

        /// <summary>The owning handle, for interop with the low-level layer.</summary>
        public ContextHandle Handle => _handle;

        /// <summary>The backend the context runs; after "auto", the one picked.</summary>
        public string Backend
        {
            get
            {
                using (var lease = new Lease(_handle))
                {
                    byte* name;
                    SnnException.Check(SnnNative.snn_context_backend(lease.Pointer, &name));
                    return Utf8.Read(name);
                }
            }
        }

        /// <summary>The number of threads the context divides work into.</summary>
        public int Threads
        {
            get
            {
                using (var lease = new Lease(_handle))
                {
                    int threads;
                    SnnException.Check(SnnNative.snn_context_threads(lease.Pointer, &threads));
                    return threads;
                }
            }
        }

        /// <summary>The SIMD level the backend runs ("avx512", "avx2", "generic"; "scalar" for "reference").</summary>
        public string Simd
        {
            get
            {
                using (var lease = new Lease(_handle))
                {
                    byte* level;
                    SnnException.Check(SnnNative.snn_context_simd(lease.Pointer, &level));
                    return Utf8.Read(level);
                }
            }
        }

        /// <summary>True once Dispose was called.</summary>
        public bool IsDisposed => _handle.Disposed;

        /// <summary>Lets go of the context; it is destroyed when its last network is.</summary>
        public void Dispose()
        {
            if (ReferenceEquals(this, s_default)) return;  // the shared default lives as long as the process
            _handle.Dispose();
        }

        /// <inheritdoc/>
        public override string ToString()
        {
            return IsDisposed ? "Context(disposed)" : "Context(backend=\"" + Backend + "\", threads=" + Threads + ")";
        }

        /// <summary>Keeps a context alive (and undisposed) during a native call.</summary>
        internal struct Lease : IDisposable
        {
            readonly ContextHandle _handle;
            public readonly snn_context* Pointer;

            public Lease(ContextHandle handle)
            {
                if (handle.Disposed) throw new ObjectDisposedException("Context");
                bool added = false;
                handle.DangerousAddRef(ref added);
                _handle = handle;
                Pointer = handle.Pointer;
            }

            public void Dispose() { _handle.DangerousRelease(); }
        }
    }
}

using System;
using Snn.Interop;

namespace Snn
{
    /// <summary>
    /// A libsnn call failed. <see cref="Status"/> is the C status code and
    /// <see cref="Exception.Message"/> the library's explanation
    /// (<c>snn_last_error()</c>), which starts with the argument at fault. Each
    /// status has its own subclass, so <c>catch (ShapeException)</c> picks one kind.
    /// Checks the binding makes before calling libsnn throw the same classes.
    /// </summary>
    public class SnnException : Exception
    {
        /// <summary>An error with a status and a message.</summary>
        public SnnException(StatusCode status, string message)
            : base(string.IsNullOrEmpty(message) ? NameOf(status) : message)
        {
            Status = status;
        }

        /// <summary>The C status code (negative).</summary>
        public StatusCode Status { get; }

        /// <summary>The status code's C name, e.g. "SNN_SHAPE".</summary>
        public string StatusName => NameOf(Status);

        /// <summary>The C name of a status code ("SNN_SHAPE"), from libsnn.</summary>
        public static unsafe string NameOf(StatusCode status)
        {
            return Utf8.Read(SnnNative.snn_status_name((int)status));
        }

        /// <summary>The exception for a failed call's status, carrying this thread's last error.</summary>
        public static unsafe SnnException FromStatus(int status)
        {
            return Create((StatusCode)status, Utf8.Read(SnnNative.snn_last_error()));
        }

        /// <summary>The subclass that matches a status, with the given message.</summary>
        public static SnnException Create(StatusCode status, string message)
        {
            switch (status)
            {
                case StatusCode.InvalidArgument: return new InvalidArgumentException(message);
                case StatusCode.NotFound: return new NotFoundException(message);
                case StatusCode.OutOfRange: return new OutOfRangeException(message);
                case StatusCode.Shape: return new ShapeException(message);
                case StatusCode.State: return new StateException(message);
                case StatusCode.Format: return new SnnFormatException(message);
                case StatusCode.Io: return new SnnIOException(message);
                case StatusCode.NoMemory: return new NoMemoryException(message);
                case StatusCode.Unsupported: return new UnsupportedException(message);
                case StatusCode.Backend: return new BackendException(message);
                case StatusCode.Cancelled: return new CancelledException(message);
                case StatusCode.Internal: return new InternalException(message);
                default: return new SnnException(status, message);
            }
        }

        /// <summary>Throws the matching exception when status is not SNN_OK.</summary>
        internal static void Check(int status)
        {
            if (status != SnnNative.SNN_OK) throw FromStatus(status);
        }
    }

    /// <summary>A NULL, a bad value or an unknown name (SNN_INVALID_ARGUMENT).</summary>
    public class InvalidArgumentException : SnnException
    {
        /// <summary>Creates the exception with libsnn's message.</summary>
        public InvalidArgumentException(string message) : base(StatusCode.InvalidArgument, message) { }
    }

    /// <summary>A name that matches no population, connection or variable (SNN_NOT_FOUND).</summary>
    public class NotFoundException : SnnException
    {
        /// <summary>Creates the exception with libsnn's message.</summary>
        public NotFoundException(string message) : base(StatusCode.NotFound, message) { }
    }

    /// <summary>An id or index outside its range (SNN_OUT_OF_RANGE).</summary>
    public class OutOfRangeException : SnnException
    {
        /// <summary>Creates the exception with libsnn's message.</summary>
        public OutOfRangeException(string message) : base(StatusCode.OutOfRange, message) { }
    }

    /// <summary>An array of the wrong size or shape (SNN_SHAPE).</summary>
    public class ShapeException : SnnException
    {
        /// <summary>Creates the exception with libsnn's message.</summary>
        public ShapeException(string message) : base(StatusCode.Shape, message) { }
    }

    /// <summary>The object cannot do this now, e.g. add a population after the first step (SNN_STATE).</summary>
    public class StateException : SnnException
    {
        /// <summary>Creates the exception with libsnn's message.</summary>
        public StateException(string message) : base(StatusCode.State, message) { }
    }

    /// <summary>A file or buffer that is not a valid .snn (SNN_FORMAT).</summary>
    public class SnnFormatException : SnnException
    {
        /// <summary>Creates the exception with libsnn's message.</summary>
        public SnnFormatException(string message) : base(StatusCode.Format, message) { }
    }

    /// <summary>The operating system refused a file operation (SNN_IO).</summary>
    public class SnnIOException : SnnException
    {
        /// <summary>Creates the exception with libsnn's message.</summary>
        public SnnIOException(string message) : base(StatusCode.Io, message) { }
    }

    /// <summary>The allocator returned NULL (SNN_NO_MEMORY).</summary>
    public class NoMemoryException : SnnException
    {
        /// <summary>Creates the exception with libsnn's message.</summary>
        public NoMemoryException(string message) : base(StatusCode.NoMemory, message) { }
    }

    /// <summary>Valid, but not supported by this build or backend (SNN_UNSUPPORTED).</summary>
    public class UnsupportedException : SnnException
    {
        /// <summary>Creates the exception with libsnn's message.</summary>
        public UnsupportedException(string message) : base(StatusCode.Unsupported, message) { }
    }

    /// <summary>A backend failed or is unavailable (SNN_BACKEND).</summary>
    public class BackendException : SnnException
    {
        /// <summary>Creates the exception with libsnn's message.</summary>
        public BackendException(string message) : base(StatusCode.Backend, message) { }
    }

    /// <summary>A spike callback stopped the run (SNN_CANCELLED).</summary>
    public class CancelledException : SnnException
    {
        /// <summary>Creates the exception with libsnn's message.</summary>
        public CancelledException(string message) : base(StatusCode.Cancelled, message) { }
    }

    /// <summary>A bug in libsnn; please report it (SNN_INTERNAL).</summary>
    public class InternalException : SnnException
    {
        /// <summary>Creates the exception with libsnn's message.</summary>
        public InternalException(string message) : base(StatusCode.Internal, message) { }
    }
}

// Copied from bindings/csharp/src/Utf8.cs by engines/unity/Tools~/sync.py: edit the original.
using System;
using System.Text;

namespace Snn
{
    /// <summary>Conversions between .NET strings and libsnn's NUL-terminated UTF-8.</summary>
    internal static unsafe class Utf8
    {
        /// <summary>Room for a name (population, variable, parameter, model, option) on the stack.</summary>
        internal const int NameCapacity = 512;

        /// <summary>The string libsnn returned (borrowed or static), or null for NULL.</summary>
        internal static string Read(byte* text)
        {
            if (text == null) return null;
            int length = 0;
            while (text[length] != 0) ++length;
            return length == 0 ? string.Empty : Encoding.UTF8.GetString(text, length);
        }

        /// <summary>Writes a name as NUL-terminated UTF-8 into a buffer of NameCapacity bytes
        /// (from stackalloc) and returns it; null stays NULL so libsnn reports it.</summary>
        internal static byte* Name(string value, byte* buffer, string what)
        {
            if (value == null) return null;
            CheckNoNul(value, what);
            fixed (char* chars = value)
            {
                if (Encoding.UTF8.GetByteCount(chars, value.Length) >= NameCapacity)
                    throw new InvalidArgumentException(what + ": longer than " + (NameCapacity - 1) + " bytes of UTF-8");
                int n = Encoding.UTF8.GetBytes(chars, value.Length, buffer, NameCapacity - 1);
                buffer[n] = 0;
            }
            return buffer;
        }

        /// <summary>A NUL-terminated UTF-8 copy of any string (paths); null for null.</summary>
        internal static byte[] Bytes(string value, string what)
        {
            if (value == null) return null;
            CheckNoNul(value, what);
            byte[] bytes = new byte[Encoding.UTF8.GetByteCount(value) + 1];
            Encoding.UTF8.GetBytes(value, 0, value.Length, bytes, 0);
            return bytes;
        }

        static void CheckNoNul(string value, string what)
        {
            if (value.IndexOf('\0') >= 0)
                throw new InvalidArgumentException(what + ": contains a NUL character");
        }
    }
}

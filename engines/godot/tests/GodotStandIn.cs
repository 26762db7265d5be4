// A stand-in for the few Godot 4 (.NET) types the sample node uses, so CI can
// compile it with Mono and call _Ready/_PhysicsProcess the way the engine would.
// Not Godot's code: just enough surface, with the same names and signatures.
using System;
using System.Collections.Generic;
using System.IO;

namespace Godot
{
    public enum PropertyHint { None = 0, Range = 1 }

    public enum Error { Ok = 0, Failed = 1, FileNotFound = 7 }

    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    public sealed class ExportAttribute : Attribute
    {
        public ExportAttribute(PropertyHint hint = PropertyHint.None, string hintString = "") { }
    }

    [AttributeUsage(AttributeTargets.Delegate)]
    public sealed class SignalAttribute : Attribute { }

    public sealed class StringName
    {
        readonly string _name;

        public StringName(string name) { _name = name; }

        public static implicit operator StringName(string name) { return new StringName(name); }

        public override string ToString() { return _name; }
    }

    public struct Variant
    {
        readonly object _value;

        Variant(object value) { _value = value; }

        public static implicit operator Variant(int value) { return new Variant((long)value); }
        public static implicit operator Variant(long value) { return new Variant(value); }
        public static implicit operator Variant(double value) { return new Variant(value); }
        public static implicit operator Variant(string value) { return new Variant(value); }

        public int AsInt32() { return (int)(long)_value; }
        public long AsInt64() { return (long)_value; }
    }

    public partial class GodotObject
    {
        public Error EmitSignal(StringName signal, params Variant[] args)
        {
            Emitted.Add(new KeyValuePair<string, Variant[]>(signal.ToString(), args));
            return Error.Ok;
        }

        // Stand-in only: what EmitSignal got.
        public readonly List<KeyValuePair<string, Variant[]>> Emitted = new List<KeyValuePair<string, Variant[]>>();
    }

    public partial class Node : GodotObject
    {
        bool _physics = true;

        public virtual void _Ready() { }
        public virtual void _PhysicsProcess(double delta) { }
        public virtual void _ExitTree() { }

        public void SetPhysicsProcess(bool enable) { _physics = enable; }
        public bool IsPhysicsProcessing() { return _physics; }
    }

    public static class GD
    {
        public static readonly List<string> Errors = new List<string>();  // stand-in only

        public static void Print(params object[] what) { Console.WriteLine(string.Concat(what)); }

        public static void PushError(params object[] what)
        {
            Errors.Add(string.Concat(what));
            Console.WriteLine("error: " + string.Concat(what));
        }
    }

    public static class FileAccess
    {
        static Error s_error;

        // Stand-in: res:// maps to this directory.
        public static string ResourceRoot = ".";

        public static byte[] GetFileAsBytes(string path)
        {
            string local = path.StartsWith("res://", StringComparison.Ordinal) ? Path.Combine(ResourceRoot, path.Substring(6)) : path;
            try
            {
                s_error = Error.Ok;
                return File.ReadAllBytes(local);
            }
            catch (IOException)
            {
                s_error = Error.FileNotFound;
                return new byte[0];
            }
        }

        public static Error GetOpenError() { return s_error; }
    }
}

// A small test runner (no NUnit here): every public method marked [Test] in
// this assembly runs once, on a fresh instance of its class; a test fails by
// throwing. Arguments select tests by substring of "Class.Method".
//   mono SnnTests.exe [filter ...]
//   mono SnnTests.exe --layout      (prints the C# layout of every generated struct)
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;

namespace Snn.Tests
{
    [AttributeUsage(AttributeTargets.Method)]
    sealed class TestAttribute : Attribute { }

    sealed class AssertionException : Exception
    {
        public AssertionException(string message) : base(message) { }
    }

    static class Assert
    {
        public static void True(bool condition, string what)
        {
            if (!condition) throw new AssertionException(what);
        }

        public static void Equal<T>(T expected, T actual, string what)
        {
            if (!EqualityComparer<T>.Default.Equals(expected, actual))
                throw new AssertionException(what + ": expected " + Show(expected) + ", got " + Show(actual));
        }

        public static void Sequence<T>(IEnumerable<T> expected, IEnumerable<T> actual, string what)
        {
            T[] e = expected.ToArray(), a = actual.ToArray();
            if (!e.SequenceEqual(a))
                throw new AssertionException(what + ": expected [" + string.Join(", ", e) + "], got [" + string.Join(", ", a) + "]");
        }

        public static void Near(double expected, double actual, double tolerance, string what)
        {
            if (!(Math.Abs(expected - actual) <= tolerance))
                throw new AssertionException(what + ": expected " + expected.ToString("R") + " +- " + tolerance + ", got " +
                                             actual.ToString("R"));
        }

        public static void Contains(string needle, string haystack, string what)
        {
            if (haystack == null || haystack.IndexOf(needle, StringComparison.Ordinal) < 0)
                throw new AssertionException(what + ": \"" + haystack + "\" does not contain \"" + needle + "\"");
        }

        public static T Throws<T>(Action action, string what) where T : Exception
        {
            try
            {
                action();
            }
            catch (T e)
            {
                if (e.GetType() != typeof(T))
                    throw new AssertionException(what + ": expected " + typeof(T).Name + ", got " + e.GetType().Name + ": " + e.Message);
                return e;
            }
            catch (Exception e)
            {
                throw new AssertionException(what + ": expected " + typeof(T).Name + ", got " + e.GetType().Name + ": " + e.Message);
            }
            throw new AssertionException(what + ": expected " + typeof(T).Name + ", nothing was thrown");
        }

        static string Show<T>(T value)
        {
            return value == null ? "null" : value is string ? "\"" + value + "\"" : value.ToString();
        }
    }

    static class Runner
    {
        static int Main(string[] args)
        {
            if (args.Length == 1 && args[0] == "--layout")
            {
                PrintLayout();
                return 0;
            }
            var tests = Assembly.GetExecutingAssembly().GetTypes()
                .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static)
                                  .Where(m => m.GetCustomAttributes(typeof(TestAttribute), false).Length > 0)
                                  .Select(m => new { Type = t, Method = m, Name = t.Name + "." + m.Name }))
                .Where(t => args.Length == 0 || args.Any(a => t.Name.Contains(a)))
                .OrderBy(t => t.Name, StringComparer.Ordinal)
                .ToList();
            int failed = 0;
            var total = Stopwatch.StartNew();
            foreach (var test in tests)
            {
                var watch = Stopwatch.StartNew();
                try
                {
                    object instance = test.Method.IsStatic ? null : Activator.CreateInstance(test.Type);
                    try
                    {
                        test.Method.Invoke(instance, null);
                    }
                    finally
                    {
                        (instance as IDisposable)?.Dispose();
                    }
                    Console.WriteLine("ok   " + test.Name + " (" + watch.ElapsedMilliseconds + " ms)");
                }
                catch (TargetInvocationException e)
                {
                    ++failed;
                    Console.WriteLine("FAIL " + test.Name + ": " + e.InnerException);
                }
            }
            Console.WriteLine((failed == 0 ? "all " + tests.Count + " tests passed" : failed + " of " + tests.Count + " tests FAILED") +
                              " in " + total.ElapsedMilliseconds + " ms");
            return failed == 0 && tests.Count > 0 ? 0 : 1;
        }

        // "<struct> size <n>" and "<struct>.<field> <offset>" for every struct of the
        // generated layer, in declaration order; tools/test-csharp compares them
        // with what a C compiler says about snn.h.
        static void PrintLayout()
        {
            foreach (Type t in typeof(Interop.SnnNative).Assembly.GetTypes()
                         .Where(t => t.Namespace == "Snn.Interop" && t.IsValueType && !t.IsEnum && t.IsPublic)
                         .Where(t => t.GetFields().Length > 0)
                         .OrderBy(t => t.Name, StringComparer.Ordinal))
            {
                Console.WriteLine(t.Name + " size " + Marshal.SizeOf(t));
                foreach (FieldInfo f in t.GetFields(BindingFlags.Public | BindingFlags.Instance))
                    Console.WriteLine(t.Name + "." + f.Name + " " + Marshal.OffsetOf(t, f.Name));
            }
        }
    }
}

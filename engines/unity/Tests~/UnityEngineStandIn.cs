// A stand-in for the few UnityEngine types the package and its samples use, so
// CI can compile them with Mono and drive the samples' messages (Awake,
// FixedUpdate, ...) the way the engine would. Not Unity's code: just enough
// surface, with the same names and signatures.
using System;
using System.Collections.Generic;

namespace UnityEngine
{
    public class Object { }

    public class Component : Object
    {
        readonly Transform _transform = new Transform();
        public Transform transform => _transform;
    }

    public class Behaviour : Component
    {
        public bool enabled { get; set; } = true;
    }

    public class MonoBehaviour : Behaviour { }

    public class Transform
    {
        public Vector3 localScale { get; set; } = Vector3.one;
    }

    public struct Vector3
    {
        public float x, y, z;

        public Vector3(float x, float y, float z)
        {
            this.x = x;
            this.y = y;
            this.z = z;
        }

        public static Vector3 one => new Vector3(1f, 1f, 1f);

        public static Vector3 operator *(Vector3 v, float s) { return new Vector3(v.x * s, v.y * s, v.z * s); }
    }

    public static class Mathf
    {
        public static float Min(float a, float b) { return Math.Min(a, b); }
        public static float Max(float a, float b) { return Math.Max(a, b); }
        public static float Exp(float x) { return (float)Math.Exp(x); }
    }

    public static class Time
    {
        public static float fixedDeltaTime { get; set; } = 0.02f;
        public static float deltaTime { get; set; } = 1f / 60f;
    }

    public static class Application
    {
        public static string streamingAssetsPath { get; set; } = "StreamingAssets";
    }

    public static class Debug
    {
        public static readonly List<string> Errors = new List<string>();  // stand-in only: what LogError got

        public static void Log(object message) { Console.WriteLine(message); }
        public static void LogWarning(object message) { Console.WriteLine("warning: " + message); }

        public static void LogError(object message)
        {
            Errors.Add(message.ToString());
            Console.WriteLine("error: " + message);
        }
    }

    [AttributeUsage(AttributeTargets.Field)]
    public sealed class SerializeField : Attribute { }

    [AttributeUsage(AttributeTargets.Field)]
    public sealed class TooltipAttribute : Attribute
    {
        public TooltipAttribute(string tooltip) { }
    }

    [AttributeUsage(AttributeTargets.Field)]
    public sealed class RangeAttribute : Attribute
    {
        public RangeAttribute(float min, float max) { }
    }
}

namespace UnityEngine.Events
{
    public delegate void UnityAction<T0, T1>(T0 arg0, T1 arg1);

    public class UnityEvent<T0, T1>
    {
        readonly List<UnityAction<T0, T1>> _listeners = new List<UnityAction<T0, T1>>();

        public void AddListener(UnityAction<T0, T1> call) { _listeners.Add(call); }
        public void RemoveListener(UnityAction<T0, T1> call) { _listeners.Remove(call); }

        public void Invoke(T0 arg0, T1 arg1)
        {
            foreach (var listener in _listeners.ToArray()) listener(arg0, arg1);
        }
    }
}

namespace AOT
{
    // UnityEngine.dll defines this; the package uses Unity's when UNITY_5_3_OR_NEWER is set.
    [AttributeUsage(AttributeTargets.Method)]
    public sealed class MonoPInvokeCallbackAttribute : Attribute
    {
        public MonoPInvokeCallbackAttribute(Type type) { }
    }
}

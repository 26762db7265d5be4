// IL2CPP (Unity) and Mono's full AOT compile a native entry point only for
// static methods marked [MonoPInvokeCallback(typeof(TheDelegate))]. Unity
// defines the attribute as AOT.MonoPInvokeCallbackAttribute; elsewhere this
// file defines the same name so the callbacks compile unchanged. Both runtimes
// recognise the attribute by its name.
#if !UNITY_5_3_OR_NEWER
using System;

namespace AOT
{
    /// <summary>Marks a static method that native code calls through a function pointer.</summary>
    [AttributeUsage(AttributeTargets.Method)]
    internal sealed class MonoPInvokeCallbackAttribute : Attribute
    {
        /// <summary>The delegate type whose signature the native caller uses.</summary>
        public MonoPInvokeCallbackAttribute(Type delegateType) { DelegateType = delegateType; }

        /// <summary>The delegate type whose signature the native caller uses.</summary>
        public Type DelegateType { get; }
    }
}
#endif

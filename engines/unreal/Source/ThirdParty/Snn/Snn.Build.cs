// libsnn, prebuilt, as an Unreal ThirdParty (External) module: the headers
// (snn.h, the C ABI, and snn.hpp, the C++ wrapper) and per platform the
// library to link and to ship with the game. stage_plugin.py puts the files
// where this expects them; README.md (engines/unreal) lists them.
using System.IO;
using UnrealBuildTool;

public class Snn : ModuleRules
{
	public Snn(ReadOnlyTargetRules Target) : base(Target)
	{
		Type = ModuleType.External;

		PublicSystemIncludePaths.Add(Path.Combine(ModuleDirectory, "include"));
		// Unreal builds without C++ exceptions: snn.hpp offers its Status forms
		// only. Remove this line if every module using snn.hpp enables exceptions.
		PublicDefinitions.Add("SNN_NO_EXCEPTIONS=1");

		string LibraryDir = Path.Combine(PluginDirectory, "Binaries", "ThirdParty", "Snn", Target.Platform.ToString());

		if (Target.Platform == UnrealTargetPlatform.Win64)
		{
			// snn.lib is the import library of snn.dll, which SnnRuntime loads at startup.
			PublicAdditionalLibraries.Add(Path.Combine(LibraryDir, "snn.lib"));
			PublicDelayLoadDLLs.Add("snn.dll");
			RuntimeDependencies.Add(Path.Combine(LibraryDir, "snn.dll"));
		}
		else if (Target.Platform == UnrealTargetPlatform.Mac)
		{
			string Dylib = Path.Combine(LibraryDir, "libsnn.0.dylib");
			PublicDelayLoadDLLs.Add(Dylib);
			RuntimeDependencies.Add(Dylib);
		}
		else if (Target.Platform == UnrealTargetPlatform.Linux || Target.Platform == UnrealTargetPlatform.LinuxArm64)
		{
			string SharedObject = Path.Combine(LibraryDir, "libsnn.so.0");
			PublicAdditionalLibraries.Add(SharedObject);
			RuntimeDependencies.Add(SharedObject);
		}
		else if (Target.Platform == UnrealTargetPlatform.Android)
		{
			// Snn_APL.xml copies libsnn.so into the APK and loads it before the game.
			PublicAdditionalLibraries.Add(Path.Combine(LibraryDir, "arm64-v8a", "libsnn.so"));
			AdditionalPropertiesForReceipt.Add("AndroidPlugin", Path.Combine(ModuleDirectory, "Snn_APL.xml"));
		}
		else if (Target.Platform == UnrealTargetPlatform.IOS)
		{
			// iOS apps link libsnn statically.
			PublicAdditionalLibraries.Add(Path.Combine(LibraryDir, "libsnn.a"));
			PublicDefinitions.Add("SNN_STATIC=1");
		}
	}
}

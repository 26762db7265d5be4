// The runtime module of the plugin: loads libsnn (the Snn ThirdParty module)
// and gives game code USnnNetworkComponent and the C++ wrapper snn.hpp.
using UnrealBuildTool;

public class SnnRuntime : ModuleRules
{
	public SnnRuntime(ReadOnlyTargetRules Target) : base(Target)
	{
		PCHUsage = PCHUsageMode.UseExplicitOrSharedPCHs;
		PublicDependencyModuleNames.AddRange(new string[] { "Core", "CoreUObject", "Engine", "Snn" });
		PrivateDependencyModuleNames.AddRange(new string[] { "Projects" });
	}
}

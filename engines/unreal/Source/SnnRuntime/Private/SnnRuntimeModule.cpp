#include "SnnRuntimeModule.h"

#include "HAL/PlatformProcess.h"
#include "Interfaces/IPluginManager.h"
#include "Misc/Paths.h"
#include "Modules/ModuleManager.h"

#include <snn/snn.h>

DEFINE_LOG_CATEGORY(LogSnn);

namespace
{
bool GSnnReady = false;

// The library's file under Binaries/ThirdParty/Snn/ (as Snn.Build.cs ships it),
// or nullptr where the platform loads it by itself (Android: the APK's
// native libraries; iOS: linked statically).
const TCHAR* LibraryFile()
{
#if PLATFORM_WINDOWS
	return TEXT("Win64/snn.dll");
#elif PLATFORM_MAC
	return TEXT("Mac/libsnn.0.dylib");
#elif PLATFORM_LINUX && PLATFORM_CPU_ARM_FAMILY
	return TEXT("LinuxArm64/libsnn.so.0");
#elif PLATFORM_LINUX
	return TEXT("Linux/libsnn.so.0");
#else
	return nullptr;
#endif
}
}  // namespace

void FSnnRuntimeModule::StartupModule()
{
	if (const TCHAR* File = LibraryFile())
	{
		const TSharedPtr<IPlugin> Plugin = IPluginManager::Get().FindPlugin(TEXT("SnnRuntime"));
		const FString Path = Plugin.IsValid()
			? FPaths::Combine(Plugin->GetBaseDir(), TEXT("Binaries/ThirdParty/Snn"), File)
			: FString(File);
		LibraryHandle = FPlatformProcess::GetDllHandle(*Path);
		if (!LibraryHandle)
		{
			UE_LOG(LogSnn, Error, TEXT("libsnn: could not load %s (see engines/unreal/README.md of libsnn)"), *Path);
			return;
		}
	}
	const uint32 Version = snn_version();
	if (Version / 10000 != SNN_VERSION_MAJOR)
	{
		UE_LOG(LogSnn, Error, TEXT("libsnn: the library is version %s, the headers are %d.x"),
			UTF8_TO_TCHAR(snn_version_string()), SNN_VERSION_MAJOR);
		return;
	}
	GSnnReady = true;
	UE_LOG(LogSnn, Log, TEXT("libsnn %s loaded"), UTF8_TO_TCHAR(snn_version_string()));
}

void FSnnRuntimeModule::ShutdownModule()
{
	GSnnReady = false;
	if (LibraryHandle)
	{
		FPlatformProcess::FreeDllHandle(LibraryHandle);
		LibraryHandle = nullptr;
	}
}

bool FSnnRuntimeModule::IsLibraryReady()
{
	return GSnnReady;
}

IMPLEMENT_MODULE(FSnnRuntimeModule, SnnRuntime)

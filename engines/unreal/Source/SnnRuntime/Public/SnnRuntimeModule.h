// The SnnRuntime module: loads the libsnn shared library shipped in the
// plugin's Binaries/ThirdParty/Snn/<Platform>/ folder at startup and checks
// that it is the major version the headers describe.
#pragma once

#include "CoreMinimal.h"
#include "Modules/ModuleInterface.h"

SNNRUNTIME_API DECLARE_LOG_CATEGORY_EXTERN(LogSnn, Log, All);

class SNNRUNTIME_API FSnnRuntimeModule : public IModuleInterface
{
public:
	virtual void StartupModule() override;
	virtual void ShutdownModule() override;

	/** True when libsnn is loaded and its major version matches snn.h. */
	static bool IsLibraryReady();

private:
	void* LibraryHandle = nullptr;
};

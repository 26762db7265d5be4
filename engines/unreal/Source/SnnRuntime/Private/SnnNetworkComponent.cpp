#include "SnnNetworkComponent.h"

#include "Async/ParallelFor.h"
#include "Misc/FileHelper.h"
#include "Misc/Paths.h"
#include "SnnRuntimeModule.h"

#include <string>

namespace
{
std::string Utf8(const FString& Text)
{
	return std::string(TCHAR_TO_UTF8(*Text));
}
}  // namespace

USnnNetworkComponent::USnnNetworkComponent()
{
	PrimaryComponentTick.bCanEverTick = true;
	PrimaryComponentTick.TickGroup = TG_PrePhysics;
}

void USnnNetworkComponent::BeginPlay()
{
	Super::BeginPlay();
	if (!NetworkFile.FilePath.IsEmpty())
	{
		OpenNetwork();
	}
}

void USnnNetworkComponent::EndPlay(const EEndPlayReason::Type EndPlayReason)
{
	CloseNetwork();
	Super::EndPlay(EndPlayReason);
}

bool USnnNetworkComponent::OpenNetwork()
{
	CloseNetwork();
	if (!FSnnRuntimeModule::IsLibraryReady())
	{
		LastError = TEXT("libsnn is not loaded (see the LogSnn messages)");
		UE_LOG(LogSnn, Error, TEXT("%s"), *LastError);
		return false;
	}
	// Read through the engine's file system, so the file may be packaged (.pak) too.
	FString Path = NetworkFile.FilePath;
	if (FPaths::IsRelative(Path))
	{
		Path = FPaths::Combine(FPaths::ProjectContentDir(), Path);
	}
	TArray<uint8> Bytes;
	if (!FFileHelper::LoadFileToArray(Bytes, *Path))
	{
		LastError = FString::Printf(TEXT("cannot read %s"), *Path);
		UE_LOG(LogSnn, Error, TEXT("%s"), *LastError);
		return false;
	}

	snn::Status Status;
	snn::ContextOptions Options;
	Options.backend(Utf8(Backend)).threads(Threads);
	if (bUseEngineTaskSystem)
	{
		Options.parallel_for([](int64_t Count, snn::ParallelBody Body)
		{
			ParallelFor(static_cast<int32>(Count), [&Body](int32 Index) { Body(Index); });
		});
	}
	snn::Context Context = snn::Context::create(Options, Status);
	if (!Status.ok())
	{
		return Fail(Status, TEXT("context"));
	}
	const snn::Span<const uint8_t> Data(Bytes.GetData(), static_cast<size_t>(Bytes.Num()));
	snn::Network Network = snn::Network::load_from_memory(Context, Data, snn::LoadOptions().batch(Batch), Status);
	if (!Status.ok())
	{
		return Fail(Status, *Path);
	}

	snn::RealtimeSettings Settings;
	Settings.input_population = Utf8(InputPopulation);
	for (const FString& Name : SpikePopulations)
	{
		Settings.spike_populations.push_back(Utf8(Name));
	}
	Settings.max_steps_per_advance = MaxStepsPerTick;
	Runner = MakeUnique<snn::RealtimeRunner>();
	if (!Runner->open(MoveTemp(Context), MoveTemp(Network), Settings, Status))
	{
		Runner.Reset();
		return Fail(Status, TEXT("open"));
	}
	for (const std::string& Name : Runner->populations())
	{
		PopulationNames.Add(FName(UTF8_TO_TCHAR(Name.c_str())));
	}
	LastError.Reset();
	return true;
}

void USnnNetworkComponent::CloseNetwork()
{
	Runner.Reset();
	PopulationNames.Reset();
}

void USnnNetworkComponent::TickComponent(float DeltaTime, ELevelTick TickType, FActorComponentTickFunction* ThisTickFunction)
{
	Super::TickComponent(DeltaTime, TickType, ThisTickFunction);
	if (!Runner)
	{
		return;
	}
	snn::Status Status;
	Runner->advance(static_cast<double>(DeltaTime) * static_cast<double>(TimeScale), Status);
	if (!Status.ok())
	{
		Fail(Status, TEXT("advance"));
		return;
	}
	// A handler may close or reset the network: check the runner on every event.
	for (size_t K = 0; Runner && K < Runner->spike_count(); ++K)
	{
		const snn::RealtimeSpikes Spikes = Runner->spikes(K);
		Ids.Reset();
		Ids.Append(Spikes.neuron_ids.data(), static_cast<int32>(Spikes.neuron_ids.size()));
		OnSpikes.Broadcast(PopulationNames[Spikes.population], Spikes.step, Spikes.batch_index, Ids);
	}
}

bool USnnNetworkComponent::SetInput(const TArray<float>& Values)
{
	if (!Runner)
	{
		LastError = TEXT("SetInput: no network is open");
		return false;
	}
	const snn::Span<float> Input = Runner->input();
	if (static_cast<size_t>(Values.Num()) != Input.size())
	{
		LastError = FString::Printf(TEXT("SetInput: %d values given; the input population takes [batch, n] = %d"),
			Values.Num(), static_cast<int32>(Input.size()));
		return false;
	}
	FMemory::Memcpy(Input.data(), Values.GetData(), Input.size() * sizeof(float));
	return true;
}

TArray<float> USnnNetworkComponent::ReadState(const FString& Population, const FString& Variable)
{
	TArray<float> Out;
	if (!Runner)
	{
		LastError = TEXT("ReadState: no network is open");
		return Out;
	}
	snn::Status Status;
	const snn::Population Pop = Runner->network().population(Utf8(Population), Status);
	const std::vector<float> Values = Status.ok() ? Pop.read_state(Utf8(Variable), Status) : std::vector<float>();
	if (!Status.ok())
	{
		Fail(Status, TEXT("ReadState"));
		return Out;
	}
	Out.Append(Values.data(), static_cast<int32>(Values.size()));
	return Out;
}

bool USnnNetworkComponent::ResetNetwork()
{
	snn::Status Status;
	if (!Runner)
	{
		LastError = TEXT("ResetNetwork: no network is open");
		return false;
	}
	return Runner->reset(Status) || Fail(Status, TEXT("ResetNetwork"));
}

bool USnnNetworkComponent::IsNetworkOpen() const
{
	return Runner.IsValid();
}

int64 USnnNetworkComponent::GetCurrentStep() const
{
	snn::Status Status;
	return Runner ? Runner->network().current_step(Status) : 0;
}

bool USnnNetworkComponent::Fail(const snn::Status& Status, const TCHAR* What)
{
	LastError = FString::Printf(TEXT("%s: %s"), What, UTF8_TO_TCHAR(Status.to_string().c_str()));
	UE_LOG(LogSnn, Error, TEXT("%s"), *LastError);
	return false;
}

// USnnNetworkComponent: an actor component that runs a libsnn network in real
// time. Each tick it advances the network by the frame's time (whole steps of
// the network's dt, see snn::RealtimeRunner) and broadcasts the spikes of the
// frame through OnSpikes. The engine-independent work is done by
// snn::RealtimeRunner (SnnRealtimeRunner.h), which CI builds and tests.
#pragma once

#include "Components/ActorComponent.h"
#include "CoreMinimal.h"
#include "Engine/EngineTypes.h"
#include "Templates/UniquePtr.h"

#include "SnnRealtimeRunner.h"

#include "SnnNetworkComponent.generated.h"

/** Instance BatchIndex of Population spiked in Step; NeuronIds ascending. */
DECLARE_DYNAMIC_MULTICAST_DELEGATE_FourParams(FSnnSpikesSignature, FName, Population, int64, Step, int32, BatchIndex,
	const TArray<int32>&, NeuronIds);

UCLASS(ClassGroup = (AI), meta = (BlueprintSpawnableComponent), DisplayName = "Spiking Network (libsnn)")
class SNNRUNTIME_API USnnNetworkComponent : public UActorComponent
{
	GENERATED_BODY()

public:
	USnnNetworkComponent();

	/** The .snn file; a relative path starts in the project's Content folder. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Snn", meta = (FilePathFilter = "snn"))
	FFilePath NetworkFile;

	/** "auto", "cpu" or "reference". */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Snn")
	FString Backend = TEXT("auto");

	/** Parts libsnn may split its work into (0: one per core). 1 runs on the game thread alone. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Snn", meta = (ClampMin = "0"))
	int32 Threads = 1;

	/** Run libsnn's parallel loops on the engine's task system (ParallelFor) instead of its own threads. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Snn")
	bool bUseEngineTaskSystem = true;

	/** Instances of the network; 0: the batch saved in the file. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Snn", meta = (ClampMin = "0"))
	int32 Batch = 0;

	/** A source population fed by SetInput (spikes, currents or rates); empty for none. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Snn")
	FString InputPopulation;

	/** Populations whose spikes OnSpikes reports; empty: every population that is not a source. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Snn")
	TArray<FString> SpikePopulations;

	/** Seconds of network time per second of game time. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Snn", meta = (ClampMin = "0"))
	float TimeScale = 1.0f;

	/** At most this many steps per tick; a longer frame drops the rest of its time. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Snn", meta = (ClampMin = "1"))
	int32 MaxStepsPerTick = 100;

	/** The spikes of each step run this tick, in order, on the game thread. */
	UPROPERTY(BlueprintAssignable, Category = "Snn")
	FSnnSpikesSignature OnSpikes;

	/** Loads NetworkFile (BeginPlay does). False on failure: see LastError and the log. */
	UFUNCTION(BlueprintCallable, Category = "Snn")
	bool OpenNetwork();

	UFUNCTION(BlueprintCallable, Category = "Snn")
	void CloseNetwork();

	/** Copies [batch][n] values into the input population's buffer, read by every following step. */
	UFUNCTION(BlueprintCallable, Category = "Snn")
	bool SetInput(const TArray<float>& Values);

	/** A copy of a state variable ("v", "spikes", ...), [batch][n]. */
	UFUNCTION(BlueprintCallable, Category = "Snn")
	TArray<float> ReadState(const FString& Population, const FString& Variable);

	/** Back to the network's initial state at step 0. */
	UFUNCTION(BlueprintCallable, Category = "Snn")
	bool ResetNetwork();

	UFUNCTION(BlueprintPure, Category = "Snn")
	bool IsNetworkOpen() const;

	UFUNCTION(BlueprintPure, Category = "Snn")
	int64 GetCurrentStep() const;

	UFUNCTION(BlueprintPure, Category = "Snn")
	FString GetLastError() const { return LastError; }

	/** For C++ game code: the runner and, through Runner->network(), the snn::Network
	 *  of snn.hpp (Status forms). Null while no network is open. */
	snn::RealtimeRunner* GetRunner() const { return Runner.Get(); }

	virtual void TickComponent(float DeltaTime, ELevelTick TickType, FActorComponentTickFunction* ThisTickFunction) override;

protected:
	virtual void BeginPlay() override;
	virtual void EndPlay(const EEndPlayReason::Type EndPlayReason) override;

private:
	bool Fail(const snn::Status& Status, const TCHAR* What);

	TUniquePtr<snn::RealtimeRunner> Runner;
	TArray<FName> PopulationNames;  // of Runner->populations()
	TArray<int32> Ids;              // reused for each broadcast
	FString LastError;
};

using UnityEngine;

namespace Snn.Samples
{
    /// <summary>
    /// Reacts to output spikes: each spike of <see cref="neuron"/> (or of any neuron
    /// when it is -1) kicks the object's scale up, and the scale relaxes back every
    /// frame. Wire <see cref="OnSpike"/> to a SpikingNetworkDriver's onOutputSpike.
    /// </summary>
    public class SpikePulse : MonoBehaviour
    {
        [SerializeField] SpikingNetworkDriver driver;
        [Tooltip("The output neuron to follow; -1: all of them.")]
        [SerializeField] int neuron = -1;
        [SerializeField, Range(0f, 1f)] float kick = 0.25f;
        [SerializeField] float relaxSeconds = 0.15f;

        Vector3 _baseScale;
        float _level;

        /// <summary>Spikes seen so far.</summary>
        public int SpikesSeen { get; private set; }

        void Awake()
        {
            _baseScale = transform.localScale;
        }

        void OnEnable()
        {
            if (driver != null) driver.onOutputSpike.AddListener(OnSpike);
        }

        void OnDisable()
        {
            if (driver != null) driver.onOutputSpike.RemoveListener(OnSpike);
        }

        /// <summary>Called for each output spike.</summary>
        public void OnSpike(int spikingNeuron, long step)
        {
            if (neuron >= 0 && spikingNeuron != neuron) return;
            ++SpikesSeen;
            _level = Mathf.Min(1f, _level + kick);
        }

        void Update()
        {
            _level *= Mathf.Exp(-Time.deltaTime / Mathf.Max(1e-3f, relaxSeconds));
            transform.localScale = _baseScale * (1f + _level);
        }
    }
}

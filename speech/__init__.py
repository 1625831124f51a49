"""The speech layer: Pipecat pipelines per session, STT/TTS providers with failover,
transports and recording. Runners never see audio; this package never sees runners."""

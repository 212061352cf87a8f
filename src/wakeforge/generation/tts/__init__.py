"""Speech engines behind one interface (:mod:`wakeforge.generation.tts.base`), pseudo-speakers, voice grid."""

"""Speech engines behind one interface (:mod:`wakeforge.tts.base`), pseudo-speakers, voice grid."""

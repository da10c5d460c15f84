"""The cppsim backend: the build's generated HLS C++ compiled with g++ and run through
ctypes (``CppSimBackend``); compilation is cached by content hash (``compile``)."""

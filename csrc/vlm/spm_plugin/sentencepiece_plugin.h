// The C ABI of emotune's sentencepiece plugin (libemotune_spm.so).
//
// Why a plugin: Debian's libsentencepiece carries its own copy of protobuf-lite (3.14) and exports its
// symbols; LibTorch needs the system libprotobuf (3.21). Linked into one executable, whichever comes first
// in symbol lookup breaks the other at start-up (a crash in libprotobuf's initialisers, or sentencepiece's
// protobuf version check). Loaded with dlopen(RTLD_LOCAL | RTLD_DEEPBIND), the plugin and libsentencepiece
// bind to their own protobuf copy and never enter the global symbol scope.
#pragma once
#include <stddef.h>

extern "C" {
// Returns a handle, or null with a message in err.
void* emotune_spm_load(const char* path, char* err, size_t err_size);
void emotune_spm_free(void* handle);
int emotune_spm_size(void* handle);
// Writes up to cap ids; returns the number of ids (which may exceed cap: call again with more room), or -1.
int emotune_spm_encode(void* handle, const char* text, size_t text_size, int* ids, int cap);
// Writes up to cap bytes; returns the text's length (which may exceed cap), or -1.
int emotune_spm_decode(void* handle, const int* ids, int count, char* text, int cap);
int emotune_spm_piece(void* handle, int id, char* text, int cap);
// The type of every piece, by id, as sentencepiece_model.proto numbers them (1 normal, 2 unknown, 3 control,
// 4 user-defined, 5 unused, 6 byte). Writes up to cap; returns the piece count, or -1 on a malformed model.
int emotune_spm_piece_types(void* handle, int* types, int cap);
}

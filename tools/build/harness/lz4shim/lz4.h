/* The two LZ4 entry points Verilator's FST writer calls (stable LZ4 API since r129).
 * Used only when the system has the LZ4 runtime library but not its development
 * header (tools/build/harness/fst.py links the runtime library directly). */
#ifndef TW_LZ4_SHIM_H
#define TW_LZ4_SHIM_H
#ifdef __cplusplus
extern "C" {
#endif
int LZ4_compressBound(int inputSize);
int LZ4_compress_default(const char* src, char* dst, int srcSize, int dstCapacity);
#ifdef __cplusplus
}
#endif
#endif

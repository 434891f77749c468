// CKernels: the engine's only C kernels, for instructions Swift SIMD cannot spell.
//
// int8 convolution on AVX-512 VNNI (`vpdpbusd`: 4 pairs of u8 x s8 summed into each s32 lane,
// 64 multiply-adds per 512-bit instruction, about 4x the fp32 FMA rate on Zen 5), with a
// portable scalar path of identical arithmetic for CPUs without VNNI (chosen at run time, or
// forced for tests). Integer accumulation is exact, so both paths give the same bytes.
//
// Layouts (all little-endian, row-major):
// - Packed activations ("u8 NHWC"): [batch][height][width][channelsPadded] uint8, channels padded
//   to a multiple of 4. A value u stands for (u - zero) * scale; int8 (ONNX INT8) tensors are
//   stored shifted by +128 (u = q + 128, zero + 128), so every packed tensor is unsigned.
// - Packed weights: [outputBlock][tap = kernelRow * kernelWidth + kernelColumn][inputChannel / 4]
//   [16 output channels][4 input channels] int8; output channels padded to a multiple of 16 and
//   input channels to channelsPadded with zero weights.
// - Dense rows (input channels not a multiple of 4, dilation_w 1, see lc_qconv_dense_rows): the
//   kernel's copy of the input keeps only the real channels per pixel, and the weights are
//   [outputBlock][kernelRow][k / 4][16][4] with k = kernelColumn * channels + channel, zero up to
//   kernel_w * channels rounded up to 4 (a 3x3 conv on 13 bands runs 40 bytes per row, not 48).
#ifndef LANDCOVER_CKERNELS_H
#define LANDCOVER_CKERNELS_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when the CPU executes AVX-512 F/BW/VNNI, else 0.
int lc_cpu_has_avx512_vnni(void);

/// One int8 convolution: geometry, requantization and output form.
///
/// For output channel o and pixel p: acc = sum over taps and channels of w * u (padding positions
/// hold `input_zero`), t = acc * multiplier[o] + offset[o] (one fused multiply-add, in units of the
/// output step: multiplier = input scale x weight scale / output_scale, offset = (bias -
/// input_zero * sum(w) * input scale x weight scale) / output_scale), then `relu` (max(t, 0)), then
/// q = clamp(nearbyint(t) + output_zero, 0, 255). With a residual (packed like the output):
/// s = (q - output_zero) * (output_scale / sum_scale) + (r - residual_zero) * (residual_scale /
/// sum_scale), optional `relu_after_add`, q = clamp(nearbyint(s) + sum_zero, 0, 255).
/// The result is stored packed (`output_float == 0`, channels padded to `output_channels_padded`)
/// or dequantized, (q - zero) * scale, as float NCHW [batch][output_channels][out_h][out_w].
/// With `max_pool`, q is the maximum over each 2x2 window of output pixels (quantization is
/// monotonic, so this equals quantizing the pooled values) and the stored size is halved.
typedef struct {
    int batch, in_h, in_w, in_c_padded;
    int out_c, out_c_padded;
    int kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w;
    int pad_top, pad_left, pad_bottom, pad_right;
    int input_zero;
    const int8_t *weights;       // packed, see above
    const float *multiplier;     // [round_up(out_c, 16)]
    const float *offset;         // [round_up(out_c, 16)]
    int relu;
    float output_scale;
    int output_zero;
    const uint8_t *residual;     // packed [batch][out_h][out_w][out_c_padded] or NULL
    float residual_scale;
    int residual_zero;
    int relu_after_add;
    float sum_scale;
    int sum_zero;
    int output_float;
    int max_pool;                // 1: a 2x2, stride-2 floor-mode max pool follows (no residual)
    int in_c;                    // real input channels (<= in_c_padded)
} lc_qconv_params;

/// 1 when the kernel uses dense rows for these parameters (see the layouts above).
int lc_qconv_dense_rows(const lc_qconv_params *p);
/// Output size of the convolution (before a fused max pool).
void lc_qconv_output_size(const lc_qconv_params *p, int *out_h, int *out_w);
/// Size of what is stored: the convolution's output, halved (floor) with `max_pool`.
void lc_qconv_stored_size(const lc_qconv_params *p, int *out_h, int *out_w);
/// Bytes of scratch `lc_qconv_run` needs (padded input chunk and pixel table).
size_t lc_qconv_scratch_bytes(const lc_qconv_params *p);
/// Runs the convolution on `input` (packed) into `output` (packed uint8 or float NCHW).
/// `use_vnni`: 1 = AVX-512 VNNI kernel (only if the CPU has it), 0 = scalar path.
void lc_qconv_run(const lc_qconv_params *p, const uint8_t *input, void *output, void *scratch, int use_vnni);

/// Quantizes float NCHW [batch][channels][plane] into packed u8 [batch][plane][channels_padded]:
/// u = clamp(nearbyint(x / scale) + zero, 0, 255); padding channels get `zero`.
void lc_quantize_pack(const float *input, int batch, int channels, int plane, int channels_padded,
                      float scale, int zero, uint8_t *output);
/// Dequantizes packed u8 back to float NCHW: (u - zero) * scale.
void lc_dequantize_unpack(const uint8_t *input, int batch, int channels, int plane, int channels_padded,
                          float scale, int zero, float *output);
/// Max pool on packed u8 tensors (exact: quantization is monotonic). Padding positions are skipped.
void lc_qmaxpool(const uint8_t *input, int batch, int in_h, int in_w, int channels_padded,
                 int kernel_h, int kernel_w, int stride_h, int stride_w, int pad_top, int pad_left,
                 int out_h, int out_w, uint8_t *output);

#ifdef __cplusplus
}
#endif
#endif

// int8 convolution kernels: AVX-512 VNNI path and scalar fallback. See include/CKernels.h.
//
// Structure: images are processed in chunks (enough images for >= 256 output pixels); each
// chunk is copied once into scratch with its spatial padding filled with the input zero point,
// so the inner loop needs no bounds checks. A table gives each output pixel's top-left tap in
// the padded chunk; taps add a fixed offset. The VNNI kernel computes NP pixels x NO blocks of 16
// output channels (24 zmm accumulators), broadcasting 4 input bytes of a pixel and multiplying
// them with one 64-byte weight vector per output block.
#include "CKernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LC_X86 1
#else
#define LC_X86 0
#endif

int lc_cpu_has_avx512_vnni(void) {
#if LC_X86
    static int cached = -1;  // a benign race: every thread computes the same value
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                 __builtin_cpu_supports("avx512vnni");
    }
    return cached;
#else
    return 0;
#endif
}

void lc_qconv_output_size(const lc_qconv_params *p, int *out_h, int *out_w) {
    int eh = (p->kernel_h - 1) * p->dilation_h + 1, ew = (p->kernel_w - 1) * p->dilation_w + 1;
    *out_h = (p->in_h + p->pad_top + p->pad_bottom - eh) / p->stride_h + 1;
    *out_w = (p->in_w + p->pad_left + p->pad_right - ew) / p->stride_w + 1;
}

void lc_qconv_stored_size(const lc_qconv_params *p, int *out_h, int *out_w) {
    lc_qconv_output_size(p, out_h, out_w);
    if (p->max_pool) {
        *out_h /= 2;
        *out_w /= 2;
    }
}

static int chunk_images(const lc_qconv_params *p) {
    int oh, ow;
    lc_qconv_output_size(p, &oh, &ow);
    int pixels = oh * ow;
    int images = pixels >= 256 ? 1 : (256 + pixels - 1) / pixels;
    return images < p->batch ? images : p->batch;
}

size_t lc_qconv_scratch_bytes(const lc_qconv_params *p) {
    int oh, ow;
    lc_qconv_output_size(p, &oh, &ow);
    size_t images = (size_t)chunk_images(p);
    size_t hp = (size_t)(p->in_h + p->pad_top + p->pad_bottom), wp = (size_t)(p->in_w + p->pad_left + p->pad_right);
    size_t padded = images * hp * wp * (size_t)p->in_c_padded;
    size_t table = images * (size_t)oh * (size_t)ow * sizeof(int32_t);
    size_t taps = (size_t)p->kernel_h * (size_t)p->kernel_w * sizeof(int32_t);
    size_t staging = p->output_float ? images * (size_t)oh * (size_t)ow * (size_t)p->out_c_padded + 64 : 0;
    return ((padded + 63) & ~(size_t)63) + table + taps + 64 + staging;
}

/// Float outputs are requantized into packed bytes here (after the tables), then dequantized into
/// NCHW planes once per chunk: contiguous float rows instead of scattered stores.
static uint8_t *staging_area(const lc_qconv_params *p, void *scratch) {
    int oh, ow;
    lc_qconv_output_size(p, &oh, &ow);
    size_t images = (size_t)chunk_images(p);
    size_t hp = (size_t)(p->in_h + p->pad_top + p->pad_bottom), wp = (size_t)(p->in_w + p->pad_left + p->pad_right);
    size_t padded = images * hp * wp * (size_t)p->in_c_padded;
    size_t offset = ((padded + 63) & ~(size_t)63) + images * (size_t)oh * (size_t)ow * sizeof(int32_t)
        + (size_t)p->kernel_h * (size_t)p->kernel_w * sizeof(int32_t);
    return (uint8_t *)scratch + ((offset + 63) & ~(size_t)63);
}

/// Dequantizes a chunk's staged bytes into the float NCHW output.
static void finish_float_chunk(const lc_qconv_params *p, void *output, void *scratch, int first, int count) {
    if (!p->output_float) return;
    int oh, ow;
    lc_qconv_stored_size(p, &oh, &ow);
    float scale = p->residual ? p->sum_scale : p->output_scale;
    int zero = p->residual ? p->sum_zero : p->output_zero;
    size_t hw = (size_t)oh * (size_t)ow;
    lc_dequantize_unpack(staging_area(p, scratch), count, p->out_c, (int)hw, p->out_c_padded, scale, zero,
                         (float *)output + (size_t)first * (size_t)p->out_c * hw);
}

// ---------------------------------------------------------------------------------------------
// Epilogue (shared arithmetic; the scalar and vector forms give the same bits)

static const float lc_limit = 1073741824.0f;  // 2^30: quotients are clamped before rounding

static inline int round_clamp_scalar(float t, int zero);

static inline int requantize_scalar(float y, float scale, int zero) {
    return round_clamp_scalar(y / scale, zero);
}

static inline int round_clamp_scalar(float t, int zero) {
    t = t > -lc_limit ? t : -lc_limit;  // NaN -> -limit, as MAXPS
    t = t < lc_limit ? t : lc_limit;
    int q = (int)nearbyintf(t) + zero;
    return q < 0 ? 0 : (q > 255 ? 255 : q);
}

/// One pixel's 16 channels (starting at `channel`) of accumulators through the epilogue.
static void epilogue_scalar(const lc_qconv_params *p, const int32_t *acc, int channel, int count,
                            const uint8_t *residual, int *values) {
    for (int j = 0; j < count; j++) {
        int o = channel + j;
        float y = fmaf((float)acc[j], p->multiplier[o], p->offset[o]);  // already divided by output_scale
        if (p->relu) y = y > 0.0f ? y : 0.0f;
        int q = round_clamp_scalar(y, p->output_zero);
        if (residual) {
            float r = (float)((int)residual[j] - p->residual_zero) * (p->residual_scale / p->sum_scale);
            float s = fmaf((float)(q - p->output_zero), p->output_scale / p->sum_scale, r);
            if (p->relu_after_add) s = s > 0.0f ? s : 0.0f;
            q = round_clamp_scalar(s, p->sum_zero);
        }
        values[j] = q;
    }
}

// ---------------------------------------------------------------------------------------------
// Chunk preparation

/// With dilation_w == 1 the taps of one kernel row are adjacent pixels, so their channels form one
/// contiguous run of kernel_w * channels bytes in NHWC; the packed weights' [tap][channel / 4]
/// order matches it. The loops then run over kernel rows with kernel_w times longer inner loops.
static inline int merged_rows(const lc_qconv_params *p) { return p->dilation_w == 1; }

int lc_qconv_dense_rows(const lc_qconv_params *p) {
    return merged_rows(p) && p->in_c > 0 && p->in_c % 4 != 0 && p->in_c < p->in_c_padded;
}

/// Bytes per pixel in the kernel's padded copy.
static inline size_t pixel_bytes(const lc_qconv_params *p) {
    return lc_qconv_dense_rows(p) ? (size_t)p->in_c : (size_t)p->in_c_padded;
}

/// Taps (table entries) and 4-byte steps per tap of the inner loops.
static inline void loop_shape(const lc_qconv_params *p, int *taps, int *steps) {
    if (lc_qconv_dense_rows(p)) {
        *taps = p->kernel_h;
        *steps = (p->kernel_w * p->in_c + 3) / 4;
    } else if (merged_rows(p)) {
        *taps = p->kernel_h;
        *steps = p->kernel_w * p->in_c_padded / 4;
    } else {
        *taps = p->kernel_h * p->kernel_w;
        *steps = p->in_c_padded / 4;
    }
}

/// Copies images [first, first + count) into scratch with zero-point padding; fills the pixel
/// and tap tables. Returns the padded chunk.
static uint8_t *prepare_chunk(const lc_qconv_params *p, const uint8_t *input, int first, int count, void *scratch,
                              int32_t **pixels, int32_t **taps) {
    int oh, ow;
    lc_qconv_output_size(p, &oh, &ow);
    int hp = p->in_h + p->pad_top + p->pad_bottom, wp = p->in_w + p->pad_left + p->pad_right;
    size_t c = (size_t)p->in_c_padded;
    uint8_t *padded = (uint8_t *)scratch;
    // Table positions as sized by lc_qconv_scratch_bytes (the padded layout is the upper bound).
    size_t padded_bytes = ((size_t)chunk_images(p) * (size_t)hp * (size_t)wp * c + 63) & ~(size_t)63;
    int32_t *pixel_table = (int32_t *)(padded + padded_bytes);
    int32_t *tap_table = pixel_table + (size_t)chunk_images(p) * (size_t)oh * (size_t)ow;
    size_t row_bytes = (size_t)p->in_w * c;
    if (lc_qconv_dense_rows(p)) {
        // Only the real channels per pixel: rows of wp * in_c bytes. A row run's last 4-byte step
        // may read up to 3 bytes beyond it (next pixel, or the table area): zero weights.
        c = (size_t)p->in_c;
        size_t image_bytes = (size_t)hp * (size_t)wp * c;
        for (int n = 0; n < count; n++) {
            uint8_t *image = padded + (size_t)n * image_bytes;
            const uint8_t *source = input + (size_t)(first + n) * (size_t)p->in_h * row_bytes;
            memset(image, p->input_zero, image_bytes);
            for (int y = 0; y < p->in_h; y++) {
                uint8_t *row = image + ((size_t)(y + p->pad_top) * (size_t)wp + (size_t)p->pad_left) * c;
                const uint8_t *from = source + (size_t)y * row_bytes;
                for (int x = 0; x < p->in_w; x++) memcpy(row + (size_t)x * c, from + (size_t)x * (size_t)p->in_c_padded, c);
            }
        }
    } else {
    size_t image_bytes = (size_t)hp * (size_t)wp * c;
    for (int n = 0; n < count; n++) {
        uint8_t *image = padded + (size_t)n * image_bytes;
        const uint8_t *source = input + (size_t)(first + n) * (size_t)p->in_h * row_bytes;
        int full = p->pad_top == 0 && p->pad_bottom == 0 && p->pad_left == 0 && p->pad_right == 0;
        if (full) {
            memcpy(image, source, (size_t)p->in_h * row_bytes);
            continue;
        }
        memset(image, p->input_zero, (size_t)p->pad_top * (size_t)wp * c);
        for (int y = 0; y < p->in_h; y++) {
            uint8_t *row = image + ((size_t)(y + p->pad_top) * (size_t)wp) * c;
            memset(row, p->input_zero, (size_t)p->pad_left * c);
            memcpy(row + (size_t)p->pad_left * c, source + (size_t)y * row_bytes, row_bytes);
            memset(row + (size_t)(p->pad_left + p->in_w) * c, p->input_zero, (size_t)p->pad_right * c);
        }
        memset(image + (size_t)(p->pad_top + p->in_h) * (size_t)wp * c, p->input_zero,
               (size_t)p->pad_bottom * (size_t)wp * c);
    }
    }
    size_t image_bytes = (size_t)hp * (size_t)wp * c;
    size_t index = 0;
    if (p->max_pool) {
        // The 4 pixels of each pooling window are adjacent in the table.
        for (int n = 0; n < count; n++)
            for (int py = 0; py < oh / 2; py++)
                for (int px = 0; px < ow / 2; px++)
                    for (int d = 0; d < 4; d++) {
                        size_t y = (size_t)(2 * py + d / 2), x = (size_t)(2 * px + d % 2);
                        pixel_table[index++] = (int32_t)((size_t)n * image_bytes
                            + (y * (size_t)p->stride_h * (size_t)wp + x * (size_t)p->stride_w) * c);
                    }
    } else {
        for (int n = 0; n < count; n++)
            for (int y = 0; y < oh; y++)
                for (int x = 0; x < ow; x++)
                    pixel_table[index++] = (int32_t)((size_t)n * image_bytes
                        + ((size_t)y * (size_t)p->stride_h * (size_t)wp + (size_t)x * (size_t)p->stride_w) * c);
    }
    int t = 0;
    int columns = merged_rows(p) ? 1 : p->kernel_w;  // a merged kernel row is one contiguous run
    for (int ky = 0; ky < p->kernel_h; ky++)
        for (int kx = 0; kx < columns; kx++)
            tap_table[t++] = (int32_t)(((size_t)ky * (size_t)p->dilation_h * (size_t)wp
                                        + (size_t)kx * (size_t)p->dilation_w) * c);
    *pixels = pixel_table;
    *taps = tap_table;
    return padded;
}

/// Where pixel `q` (chunk-local) of channel block `block` is stored (the staging area for float
/// outputs), and its residual.
static inline void output_places(const lc_qconv_params *p, void *output, void *scratch, int first, int q, int oh, int ow,
                                 int block, const uint8_t **residual, uint8_t **packed) {
    size_t hw = (size_t)oh * (size_t)ow;
    size_t global = (size_t)first * hw + (size_t)q;
    *residual = p->residual ? p->residual + global * (size_t)p->out_c_padded + (size_t)block * 16 : NULL;
    if (p->output_float) *packed = staging_area(p, scratch) + (size_t)q * (size_t)p->out_c_padded + (size_t)block * 16;
    else *packed = (uint8_t *)output + global * (size_t)p->out_c_padded + (size_t)block * 16;
}

// ---------------------------------------------------------------------------------------------
// Scalar path

static void run_scalar(const lc_qconv_params *p, const uint8_t *input, void *output, void *scratch) {
    int oh, ow;
    lc_qconv_output_size(p, &oh, &ow);
    int images = chunk_images(p);
    int taps, c4n;
    loop_shape(p, &taps, &c4n);
    int blocks = (p->out_c + 15) / 16;
    size_t block_stride = (size_t)taps * (size_t)c4n * 64;
    for (int first = 0; first < p->batch; first += images) {
        int count = p->batch - first < images ? p->batch - first : images;
        int32_t *pixels, *tap_table;
        uint8_t *padded = prepare_chunk(p, input, first, count, scratch, &pixels, &tap_table);
        int window = p->max_pool ? 4 : 1;
        int total = p->max_pool ? count * (oh / 2) * (ow / 2) * 4 : count * oh * ow;
        int sh, sw;
        lc_qconv_stored_size(p, &sh, &sw);
        for (int block = 0; block < blocks; block++) {
            const int8_t *w = p->weights + (size_t)block * block_stride;
            int channels = p->out_c - block * 16 < 16 ? p->out_c - block * 16 : 16;
            int pooled[16];
            for (int q = 0; q < total; q++) {
                int32_t acc[16] = {0};
                for (int t = 0; t < taps; t++) {
                    const uint8_t *x = padded + pixels[q] + tap_table[t];
                    const int8_t *wt = w + (size_t)t * (size_t)c4n * 64;
                    for (int c = 0; c < c4n; c++)
                        for (int j = 0; j < 16; j++)
                            for (int k = 0; k < 4; k++)
                                acc[j] += (int32_t)x[4 * c + k] * (int32_t)wt[c * 64 + j * 4 + k];
                }
                const uint8_t *residual; uint8_t *packed;
                output_places(p, output, scratch, first, q / window, sh, sw, block, &residual, &packed);
                int values[16];
                epilogue_scalar(p, acc, block * 16, channels, residual, values);
                for (int j = 0; j < channels; j++) pooled[j] = q % window == 0 || values[j] > pooled[j] ? values[j] : pooled[j];
                if (q % window == window - 1)
                    for (int j = 0; j < channels; j++) packed[j] = (uint8_t)pooled[j];
            }
        }
        finish_float_chunk(p, output, scratch, first, count);
    }
}

// ---------------------------------------------------------------------------------------------
// AVX-512 VNNI path

#if LC_X86
#define LC_TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")))

LC_TARGET static inline __m512i round_clamp_vector(__m512 t, __m512i zero) {
    t = _mm512_max_ps(t, _mm512_set1_ps(-lc_limit));
    t = _mm512_min_ps(t, _mm512_set1_ps(lc_limit));
    __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(t), zero);
    return _mm512_min_epi32(_mm512_max_epi32(q, _mm512_setzero_si512()), _mm512_set1_epi32(255));
}

LC_TARGET static inline __m512i requantize_vector(__m512 y, __m512 scale, __m512i zero) {
    return round_clamp_vector(_mm512_div_ps(y, scale), zero);
}

/// Epilogue of one pixel's 16 channels; `count` < 16 only in the last block.
LC_TARGET static inline __m512i epilogue_vector(const lc_qconv_params *p, __m512i acc, int channel, __mmask16 mask,
                                                const uint8_t *residual) {
    __m512 y = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), _mm512_loadu_ps(p->multiplier + channel),
                               _mm512_loadu_ps(p->offset + channel));
    if (p->relu) y = _mm512_max_ps(y, _mm512_setzero_ps());
    __m512i q = round_clamp_vector(y, _mm512_set1_epi32(p->output_zero));
    if (residual) {
        __m512i r = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, residual));
        __m512 b = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(r, _mm512_set1_epi32(p->residual_zero))),
                                 _mm512_set1_ps(p->residual_scale / p->sum_scale));
        __m512 s = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(q, _mm512_set1_epi32(p->output_zero))),
                                   _mm512_set1_ps(p->output_scale / p->sum_scale), b);
        if (p->relu_after_add) s = _mm512_max_ps(s, _mm512_setzero_ps());
        q = round_clamp_vector(s, _mm512_set1_epi32(p->sum_zero));
    }
    return q;
}

#define LC_DEFINE_BLOCK(NP, NO)                                                                               \
    LC_TARGET static void block_##NP##x##NO(const uint8_t *const *px, const int32_t *taps, int ntaps, int c4n, \
                                            const int8_t *w, size_t block_stride, __m512i *out) {              \
        __m512i acc[NP][NO];                                                                                   \
        for (int i = 0; i < NP; i++)                                                                           \
            for (int o = 0; o < NO; o++) acc[i][o] = _mm512_setzero_si512();                                   \
        for (int t = 0; t < ntaps; t++) {                                                                      \
            const uint8_t *pp[NP];                                                                             \
            for (int i = 0; i < NP; i++) pp[i] = px[i] + taps[t];                                              \
            const int8_t *wt = w + (size_t)t * (size_t)c4n * 64;                                               \
            for (int c = 0; c < c4n; c++) {                                                                    \
                __m512i wv[NO];                                                                                \
                for (int o = 0; o < NO; o++) wv[o] = _mm512_loadu_si512((const void *)(wt + o * block_stride + (size_t)c * 64)); \
                for (int i = 0; i < NP; i++) {                                                                 \
                    int32_t word;                                                                              \
                    memcpy(&word, pp[i] + 4 * c, 4);                                                           \
                    __m512i b = _mm512_set1_epi32(word);                                                       \
                    for (int o = 0; o < NO; o++) acc[i][o] = _mm512_dpbusd_epi32(acc[i][o], b, wv[o]);         \
                }                                                                                              \
            }                                                                                                  \
        }                                                                                                      \
        for (int i = 0; i < NP; i++)                                                                           \
            for (int o = 0; o < NO; o++) out[i * NO + o] = acc[i][o];                                          \
    }

LC_DEFINE_BLOCK(6, 4)
LC_DEFINE_BLOCK(12, 2)
LC_DEFINE_BLOCK(16, 1)

LC_TARGET static void run_vnni(const lc_qconv_params *p, const uint8_t *input, void *output, void *scratch) {
    int oh, ow;
    lc_qconv_output_size(p, &oh, &ow);
    int images = chunk_images(p);
    int taps, c4n;
    loop_shape(p, &taps, &c4n);
    int blocks = (p->out_c + 15) / 16;
    size_t block_stride = (size_t)taps * (size_t)c4n * 64;
    __m512i results[24];
    for (int first = 0; first < p->batch; first += images) {
        int count = p->batch - first < images ? p->batch - first : images;
        int32_t *pixels, *tap_table;
        uint8_t *padded = prepare_chunk(p, input, first, count, scratch, &pixels, &tap_table);
        int total = count * oh * ow;
        int window = p->max_pool ? 4 : 1;
        if (p->max_pool) total = count * (oh / 2) * (ow / 2) * 4;
        int sh, sw;
        lc_qconv_stored_size(p, &sh, &sw);
        for (int block = 0; block < blocks;) {
            int remaining = blocks - block;
            // Pooling needs pixel blocks that are whole windows (12 and 16 are multiples of 4).
            int no = remaining >= 4 && !p->max_pool ? 4 : (remaining >= 2 ? 2 : 1);
            int np = no == 4 ? 6 : (no == 2 ? 12 : 16);
            const int8_t *w = p->weights + (size_t)block * block_stride;
            for (int q = 0; q < total; q += np) {
                int valid = total - q < np ? total - q : np;
                const uint8_t *px[16];
                // Past the end, repeat the last pixel (computed, never stored).
                for (int i = 0; i < np; i++) px[i] = padded + pixels[q + (i < valid ? i : valid - 1)];
                if (no == 4) block_6x4(px, tap_table, taps, c4n, w, block_stride, results);
                else if (no == 2) block_12x2(px, tap_table, taps, c4n, w, block_stride, results);
                else block_16x1(px, tap_table, taps, c4n, w, block_stride, results);
                for (int i = 0; i < valid; i += window) {
                    for (int o = 0; o < no; o++) {
                        int b = block + o;
                        int channels = p->out_c - b * 16 < 16 ? p->out_c - b * 16 : 16;
                        __mmask16 mask = channels >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << channels) - 1);
                        const uint8_t *residual; uint8_t *packed;
                        output_places(p, output, scratch, first, (q + i) / window, sh, sw, b, &residual, &packed);
                        __m512i value = epilogue_vector(p, results[i * no + o], b * 16, mask, residual);
                        for (int k = 1; k < window; k++)
                            value = _mm512_max_epi32(value, epilogue_vector(p, results[(i + k) * no + o], b * 16, mask, residual));
                        _mm_mask_storeu_epi8(packed, mask, _mm512_cvtepi32_epi8(value));
                    }
                }
            }
            block += no;
        }
        finish_float_chunk(p, output, scratch, first, count);
    }
}
#endif

void lc_qconv_run(const lc_qconv_params *p, const uint8_t *input, void *output, void *scratch, int use_vnni) {
    if (p->batch <= 0) return;
#if LC_X86
    if (use_vnni && lc_cpu_has_avx512_vnni()) {
        run_vnni(p, input, output, scratch);
        return;
    }
#endif
    (void)use_vnni;
    run_scalar(p, input, output, scratch);
}

// ---------------------------------------------------------------------------------------------
// Packing, unpacking, pooling

#if LC_X86
/// 16 pixels of every channel per step: divide, clamp and round as `requantize_scalar` (same bits),
/// then transpose through a small [16][channels_padded] block.
LC_TARGET static void quantize_pack_avx512(const float *image, int channels, int plane, int channels_padded,
                                           float scale, int zero, uint8_t *packed) {
    uint8_t block[16 * 256];
    __m512 vscale = _mm512_set1_ps(scale);
    __m512i vzero = _mm512_set1_epi32(zero);
    int i = 0;
    for (; i + 16 <= plane; i += 16) {
        for (int c = 0; c < channels; c++) {
            __m512i q = requantize_vector(_mm512_loadu_ps(image + (size_t)c * (size_t)plane + (size_t)i), vscale, vzero);
            uint8_t bytes[16];
            _mm_storeu_si128((__m128i *)bytes, _mm512_cvtepi32_epi8(q));
            for (int j = 0; j < 16; j++) block[j * channels_padded + c] = bytes[j];
        }
        for (int j = 0; j < 16; j++) {
            for (int c = channels; c < channels_padded; c++) block[j * channels_padded + c] = (uint8_t)zero;
        }
        memcpy(packed + (size_t)i * (size_t)channels_padded, block, (size_t)16 * (size_t)channels_padded);
    }
    for (; i < plane; i++) {
        uint8_t *pixel = packed + (size_t)i * (size_t)channels_padded;
        for (int c = 0; c < channels; c++)
            pixel[c] = (uint8_t)requantize_scalar(image[(size_t)c * (size_t)plane + (size_t)i], scale, zero);
        for (int c = channels; c < channels_padded; c++) pixel[c] = (uint8_t)zero;
    }
}

/// Max over windows, 64 channels per vector (masked tail).
LC_TARGET static void qmaxpool_avx512(const uint8_t *input, int batch, int in_h, int in_w, int channels_padded,
                                      int kernel_h, int kernel_w, int stride_h, int stride_w, int pad_top, int pad_left,
                                      int out_h, int out_w, uint8_t *output) {
    size_t c = (size_t)channels_padded;
    for (int n = 0; n < batch; n++) {
        const uint8_t *image = input + (size_t)n * (size_t)in_h * (size_t)in_w * c;
        for (int y = 0; y < out_h; y++) {
            for (int x = 0; x < out_w; x++) {
                uint8_t *out = output + (((size_t)n * (size_t)out_h + (size_t)y) * (size_t)out_w + (size_t)x) * c;
                for (size_t k = 0; k < c; k += 64) {
                    __mmask64 mask = c - k >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (c - k)) - 1);
                    __m512i best = _mm512_setzero_si512();
                    for (int ky = 0; ky < kernel_h; ky++) {
                        int iy = y * stride_h - pad_top + ky;
                        if (iy < 0 || iy >= in_h) continue;
                        for (int kx = 0; kx < kernel_w; kx++) {
                            int ix = x * stride_w - pad_left + kx;
                            if (ix < 0 || ix >= in_w) continue;
                            const uint8_t *v = image + ((size_t)iy * (size_t)in_w + (size_t)ix) * c + k;
                            best = _mm512_max_epu8(best, _mm512_maskz_loadu_epi8(mask, v));
                        }
                    }
                    _mm512_mask_storeu_epi8(out + k, mask, best);
                }
            }
        }
    }
}
#endif

void lc_quantize_pack(const float *input, int batch, int channels, int plane, int channels_padded,
                      float scale, int zero, uint8_t *output) {
    for (int n = 0; n < batch; n++) {
        const float *image = input + (size_t)n * (size_t)channels * (size_t)plane;
        uint8_t *packed = output + (size_t)n * (size_t)plane * (size_t)channels_padded;
#if LC_X86
        if (channels_padded <= 256 && lc_cpu_has_avx512_vnni()) {
            quantize_pack_avx512(image, channels, plane, channels_padded, scale, zero, packed);
            continue;
        }
#endif
        for (int i = 0; i < plane; i++) {
            uint8_t *pixel = packed + (size_t)i * (size_t)channels_padded;
            for (int c = 0; c < channels; c++)
                pixel[c] = (uint8_t)requantize_scalar(image[(size_t)c * (size_t)plane + (size_t)i], scale, zero);
            for (int c = channels; c < channels_padded; c++) pixel[c] = (uint8_t)zero;
        }
    }
}

#if LC_X86
/// 16 pixels of one channel per gather (4-byte gathers at a stride of channels_padded, low byte
/// kept), same arithmetic as the scalar loop; gathers that would read past the image's last byte
/// are left to the scalar tail.
LC_TARGET static void dequantize_unpack_avx512(const uint8_t *packed, int channels, int plane, int channels_padded,
                                               float scale, int zero, float *image) {
    size_t total = (size_t)plane * (size_t)channels_padded;
    __m512i index = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                       _mm512_set1_epi32(channels_padded));
    for (int c = 0; c < channels; c++) {
        float *row = image + (size_t)c * (size_t)plane;
        int i = 0;
        for (; i + 16 <= plane && (size_t)(i + 15) * (size_t)channels_padded + (size_t)c + 4 <= total; i += 16) {
            __m512i bytes = _mm512_i32gather_epi32(index, (const void *)(packed + (size_t)i * (size_t)channels_padded + (size_t)c), 1);
            bytes = _mm512_and_si512(bytes, _mm512_set1_epi32(0xFF));
            __m512 values = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(bytes, _mm512_set1_epi32(zero))),
                                          _mm512_set1_ps(scale));
            _mm512_storeu_ps(row + i, values);
        }
        for (; i < plane; i++)
            row[i] = (float)((int)packed[(size_t)i * (size_t)channels_padded + (size_t)c] - zero) * scale;
    }
}
#endif

void lc_dequantize_unpack(const uint8_t *input, int batch, int channels, int plane, int channels_padded,
                          float scale, int zero, float *output) {
    for (int n = 0; n < batch; n++) {
        const uint8_t *packed = input + (size_t)n * (size_t)plane * (size_t)channels_padded;
        float *image = output + (size_t)n * (size_t)channels * (size_t)plane;
#if LC_X86
        if (lc_cpu_has_avx512_vnni()) {
            dequantize_unpack_avx512(packed, channels, plane, channels_padded, scale, zero, image);
            continue;
        }
#endif
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < plane; i++)
                image[(size_t)c * (size_t)plane + (size_t)i] =
                    (float)((int)packed[(size_t)i * (size_t)channels_padded + (size_t)c] - zero) * scale;
    }
}

void lc_qmaxpool(const uint8_t *input, int batch, int in_h, int in_w, int channels_padded,
                 int kernel_h, int kernel_w, int stride_h, int stride_w, int pad_top, int pad_left,
                 int out_h, int out_w, uint8_t *output) {
#if LC_X86
    if (lc_cpu_has_avx512_vnni()) {
        qmaxpool_avx512(input, batch, in_h, in_w, channels_padded, kernel_h, kernel_w, stride_h, stride_w, pad_top,
                        pad_left, out_h, out_w, output);
        return;
    }
#endif
    size_t c = (size_t)channels_padded;
    for (int n = 0; n < batch; n++) {
        const uint8_t *image = input + (size_t)n * (size_t)in_h * (size_t)in_w * c;
        for (int y = 0; y < out_h; y++) {
            for (int x = 0; x < out_w; x++) {
                uint8_t *out = output + (((size_t)n * (size_t)out_h + (size_t)y) * (size_t)out_w + (size_t)x) * c;
                memset(out, 0, c);
                for (int ky = 0; ky < kernel_h; ky++) {
                    int iy = y * stride_h - pad_top + ky;
                    if (iy < 0 || iy >= in_h) continue;
                    for (int kx = 0; kx < kernel_w; kx++) {
                        int ix = x * stride_w - pad_left + kx;
                        if (ix < 0 || ix >= in_w) continue;
                        const uint8_t *v = image + ((size_t)iy * (size_t)in_w + (size_t)ix) * c;
                        for (size_t k = 0; k < c; k++) out[k] = v[k] > out[k] ? v[k] : out[k];
                    }
                }
            }
        }
    }
}

/*
 * Micromotion face edits (Wu et al. 2022): every face of the video is inverted into
 * StyleGAN2's latent space, moved along a micromotion direction and pasted back.
 *
 * This file is part of micromotion; it is compiled inside FFmpeg's libavfilter
 * (packaging/build-ffmpeg.sh adds it) and links libmicromotion through its C API.
 */

/**
 * @file
 * micromotion video filter
 *
 * The engine works on RGB24. Each frame is converted to RGB24 for it; afterwards only the
 * pixels the engine changed are converted back into the frame's own format and written,
 * so every other pixel stays bit-exact in the input format. A frame without a face is
 * passed on as it came.
 */

#include <float.h>
#include <math.h>
#include <string.h>

#include <micromotion/micromotion.h>

#include "libavutil/avassert.h"
#include "libavutil/eval.h"
#include "libavutil/imgutils.h"
#include "libavutil/intreadwrite.h"
#include "libavutil/internal.h"
#include "libavutil/mem.h"
#include "libavutil/opt.h"
#include "libavutil/pixdesc.h"
#include "libavutil/time.h"
#include "libavutil/timestamp.h"
#include "libswscale/swscale.h"

#include "avfilter.h"
#include "filters.h"
#include "formats.h"
#include "video.h"

/* The only differences between the FFmpeg versions this filter builds with (5.1 and 7.1):
 * libavfilter 10 moved the filter-definition macros from internal.h into filters.h and the
 * link's frame rate into FilterLink. */
#if LIBAVFILTER_VERSION_MAJOR < 10
#include "internal.h"
static AVRational link_frame_rate(AVFilterLink *link) { return link->frame_rate; }
#else
static AVRational link_frame_rate(AVFilterLink *link) { return ff_filter_link(link)->frame_rate; }
#endif

/* Frames held by the filter at most: in the engine, plus finished ones waiting for an
 * earlier frame (order is kept), plus frames passed through by the timeline. */
#define MAX_PENDING 64

static const char *const var_names[] = { "t", "n", "pts", NULL };
enum { VAR_T, VAR_N, VAR_PTS, VAR_NB };

typedef struct Pending {
    AVFrame *in;       ///< the frame as it came (owned)
    uint8_t *rgb;      ///< its RGB24 conversion, rgb_linesize apart (NULL: passed through)
    uint8_t *edited;   ///< the engine's result (RGB24), once received
    int done;          ///< ready to go out
} Pending;

typedef struct MicromotionContext {
    const AVClass *class;

    /* options */
    char *anchor;
    char *strength_str;
    char *encoder;
    int iters;
    int warm_iters;
    int faces;
    int mode;
    double feather;
    char *models;
    char *device;
    char *dtype;
    int detect_every;
    int smooth;
    int nireq;
    int async;
    int threads;

    mm_context *mm;
    AVExpr *strength_expr;
    double var_values[VAR_NB];

    const AVPixFmtDescriptor *desc;
    struct SwsContext *to_rgb;      ///< input format -> RGB24, whole frame
    struct SwsContext *from_rgb;    ///< RGB24 -> input format, the changed region only
    int to_rgb_colorspace, to_rgb_range;
    int rgb_linesize;
    uint8_t *changed;               ///< per-pixel "the engine changed it" map, w*h
    uint16_t *line_a;               ///< one line of one component, for the masked merge

    Pending queue[MAX_PENDING];     ///< ring buffer, oldest at head
    int head, count;
    int in_engine;                  ///< submitted, not yet received
    int64_t frame_number;
    int64_t frames_nonfinite;       ///< frames whose strength was NaN or infinite (strength 0)

    int64_t frames_edited, frames_untouched, frames_disabled;
    double engine_seconds;          ///< in mm_process (sync mode)
    double own_seconds;             ///< converting, comparing, writing back: the filter's cost
} MicromotionContext;

#define OFFSET(x) offsetof(MicromotionContext, x)
#define FLAGS (AV_OPT_FLAG_FILTERING_PARAM | AV_OPT_FLAG_VIDEO_PARAM)
#define TFLAGS (AV_OPT_FLAG_FILTERING_PARAM | AV_OPT_FLAG_VIDEO_PARAM | AV_OPT_FLAG_RUNTIME_PARAM)

static const AVOption micromotion_options[] = {
    { "anchor", "micromotion to apply: a published name (smile, aging, ...) or a .safetensors/.npy file",
        OFFSET(anchor), AV_OPT_TYPE_STRING, { .str = "smile" }, 0, 0, FLAGS },
    { "strength", "edit strength, an expression in t (seconds), n (frame number) and pts; the paper's scale is about 5",
        OFFSET(strength_str), AV_OPT_TYPE_STRING, { .str = "5" }, 0, 0, TFLAGS },
    { "s", "same as strength",
        OFFSET(strength_str), AV_OPT_TYPE_STRING, { .str = "5" }, 0, 0, TFLAGS },
    { "encoder", "inversion encoder: restyle, e4e, psp or a checkpoint path",
        OFFSET(encoder), AV_OPT_TYPE_STRING, { .str = "restyle" }, 0, 0, FLAGS },
    { "iters", "ReStyle iterations for a newly found face (-1: the checkpoint's default)",
        OFFSET(iters), AV_OPT_TYPE_INT, { .i64 = -1 }, -1, 100, FLAGS },
    { "warm_iters", "ReStyle iterations per frame once a face is tracked",
        OFFSET(warm_iters), AV_OPT_TYPE_INT, { .i64 = 1 }, 0, 100, FLAGS },
    { "faces", "which faces to edit",
        OFFSET(faces), AV_OPT_TYPE_INT, { .i64 = MM_FACES_ALL }, MM_FACES_ALL, MM_FACES_LARGEST, FLAGS, "faces" },
        { "all",     "every face",           0, AV_OPT_TYPE_CONST, { .i64 = MM_FACES_ALL },     0, 0, FLAGS, "faces" },
        { "largest", "the largest face only", 0, AV_OPT_TYPE_CONST, { .i64 = MM_FACES_LARGEST }, 0, 0, FLAGS, "faces" },
    { "mode", "how the edited face is pasted back",
        OFFSET(mode), AV_OPT_TYPE_INT, { .i64 = MM_MODE_REPLACE }, MM_MODE_REPLACE, MM_MODE_DELTA, FLAGS, "mode" },
        { "replace", "paste the regenerated face",                               0, AV_OPT_TYPE_CONST, { .i64 = MM_MODE_REPLACE }, 0, 0, FLAGS, "mode" },
        { "delta",   "add only the edit, G(w') - G(w), keeping the real face's detail", 0, AV_OPT_TYPE_CONST, { .i64 = MM_MODE_DELTA },   0, 0, FLAGS, "mode" },
    { "feather", "width of the face mask's soft edge, as a fraction of the face size",
        OFFSET(feather), AV_OPT_TYPE_DOUBLE, { .dbl = 0.06 }, 0, 0.5, FLAGS },
    { "models", "models directory (default: $MICROMOTION_MODELS, then the user and system data directories)",
        OFFSET(models), AV_OPT_TYPE_STRING, { .str = NULL }, 0, 0, FLAGS },
    { "device", "where the networks run: cpu, cuda or cuda:N",
        OFFSET(device), AV_OPT_TYPE_STRING, { .str = "cpu" }, 0, 0, FLAGS },
    { "dtype", "network precision: fp32 or bf16",
        OFFSET(dtype), AV_OPT_TYPE_STRING, { .str = "fp32" }, 0, 0, FLAGS },
    { "detect_every", "run full-frame face detection every N frames (faces are tracked in between)",
        OFFSET(detect_every), AV_OPT_TYPE_INT, { .i64 = 10 }, 1, 10000, FLAGS },
    { "smooth", "smooth face landmarks over time",
        OFFSET(smooth), AV_OPT_TYPE_BOOL, { .i64 = 1 }, 0, 1, FLAGS },
    { "async", "run the networks on their own thread, overlapping decoding and encoding (auto: on for cuda, off on the CPU, where they already use every core)",
        OFFSET(async), AV_OPT_TYPE_BOOL, { .i64 = -1 }, -1, 1, FLAGS },
    { "nireq", "frames queued for the engine in async mode (0: 2)",
        OFFSET(nireq), AV_OPT_TYPE_INT, { .i64 = 0 }, 0, MAX_PENDING / 2, FLAGS },
    { "threads", "CPU threads for the networks (0: every CPU, or $MICROMOTION_THREADS)",
        OFFSET(threads), AV_OPT_TYPE_INT, { .i64 = 0 }, 0, 1024, FLAGS },
    { NULL }
};

AVFILTER_DEFINE_CLASS(micromotion);

static const enum AVPixelFormat pix_fmts[] = {
    AV_PIX_FMT_RGB24, AV_PIX_FMT_BGR24, AV_PIX_FMT_RGBA, AV_PIX_FMT_BGRA,
    AV_PIX_FMT_ARGB, AV_PIX_FMT_ABGR, AV_PIX_FMT_RGB0, AV_PIX_FMT_BGR0,
    AV_PIX_FMT_YUV420P, AV_PIX_FMT_YUV422P, AV_PIX_FMT_YUV444P,
    AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_YUVJ422P, AV_PIX_FMT_YUVJ444P,
    AV_PIX_FMT_YUVA420P, AV_PIX_FMT_NV12, AV_PIX_FMT_NV21,
    AV_PIX_FMT_YUV420P10LE, AV_PIX_FMT_YUV422P10LE, AV_PIX_FMT_YUV444P10LE,
    AV_PIX_FMT_GRAY8,
    AV_PIX_FMT_NONE
};

static int parse_strength(AVFilterContext *ctx, const char *text, AVExpr **expr)
{
    int ret = av_expr_parse(expr, text, var_names, NULL, NULL, NULL, NULL, 0, ctx);
    if (ret < 0)
        av_log(ctx, AV_LOG_ERROR, "Invalid strength expression '%s'.\n", text);
    return ret;
}

static av_cold int init(AVFilterContext *ctx)
{
    MicromotionContext *s = ctx->priv;
    mm_params p = mm_default_params();
    char error[2048];
    int ret;

    if ((ret = parse_strength(ctx, s->strength_str, &s->strength_expr)) < 0)
        return ret;
    if (strcmp(s->dtype, "fp32") && strcmp(s->dtype, "bf16")) {
        av_log(ctx, AV_LOG_ERROR, "Invalid dtype '%s': use fp32 or bf16.\n", s->dtype);
        return AVERROR(EINVAL);
    }

    p.anchor         = s->anchor;
    p.models_dir     = s->models;
    p.encoder        = s->encoder;
    p.iterations     = s->iters;
    p.warm_iterations = s->warm_iters;
    p.faces          = s->faces;
    p.mode           = s->mode;
    p.device         = s->device;
    p.dtype          = s->dtype;
    p.feather        = s->feather;
    p.detect_every   = s->detect_every;
    p.smooth         = s->smooth;
    p.threads        = s->threads;
    p.queue_depth    = s->nireq > 0 ? s->nireq : 2;
    /* On the CPU the networks use every core: overlapping them with decoding and encoding only
     * makes their threads wait for each other (measured ~9% slower on 2 cores). */
    if (s->async < 0)
        s->async = !strncmp(s->device, "cuda", 4);

    s->mm = mm_create(&p, error, sizeof(error));
    if (!s->mm) {
        av_log(ctx, AV_LOG_ERROR, "%s\n", error);
        return AVERROR(EINVAL);
    }
    av_log(ctx, AV_LOG_VERBOSE, "libmicromotion %s: anchor=%s encoder=%s device=%s dtype=%s %s\n",
           mm_version(), s->anchor, s->encoder, s->device, s->dtype, s->async ? "async" : "sync");
    return 0;
}

static int config_input(AVFilterLink *inlink)
{
    AVFilterContext *ctx = inlink->dst;
    MicromotionContext *s = ctx->priv;
    AVRational rate = link_frame_rate(inlink);
    const int w = inlink->w, h = inlink->h;

    s->desc = av_pix_fmt_desc_get(inlink->format);
    if (rate.num > 0 && rate.den > 0 && mm_set_frame_rate(s->mm, av_q2d(rate)) < 0) {
        av_log(ctx, AV_LOG_ERROR, "%s\n", mm_error(s->mm));
        return AVERROR(EINVAL);
    }

    sws_freeContext(s->to_rgb);
    s->to_rgb = sws_getContext(w, h, inlink->format, w, h, AV_PIX_FMT_RGB24,
                               SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, NULL, NULL, NULL);
    if (!s->to_rgb)
        return AVERROR(EINVAL);
    s->to_rgb_colorspace = s->to_rgb_range = -1;

    s->rgb_linesize = FFALIGN(3 * w, 64);
    av_freep(&s->changed);
    av_freep(&s->line_a);
    s->changed = av_malloc((size_t)w * h);
    s->line_a = av_malloc_array(w, sizeof(*s->line_a));
    if (!s->changed || !s->line_a)
        return AVERROR(ENOMEM);
    return 0;
}

/* sws_getCoefficients takes the AVColorSpace values that have matrices; anything else is BT.601. */
static void set_yuv_details(struct SwsContext *sws, const AVFrame *f, int yuv_is_source)
{
    const int *coefs = sws_getCoefficients(f->colorspace == AVCOL_SPC_UNSPECIFIED ? SWS_CS_DEFAULT : f->colorspace);
    const int full = f->color_range == AVCOL_RANGE_JPEG ||
                     f->format == AV_PIX_FMT_YUVJ420P || f->format == AV_PIX_FMT_YUVJ422P ||
                     f->format == AV_PIX_FMT_YUVJ444P;
    if (yuv_is_source)
        sws_setColorspaceDetails(sws, coefs, full, sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16);
    else
        sws_setColorspaceDetails(sws, sws_getCoefficients(SWS_CS_DEFAULT), 1, coefs, full, 0, 1 << 16, 1 << 16);
}

static int is_rgb(const AVPixFmtDescriptor *desc)
{
    return (desc->flags & AV_PIX_FMT_FLAG_RGB) != 0;
}

static int convert_to_rgb(MicromotionContext *s, const AVFrame *in, uint8_t *rgb)
{
    uint8_t *dst[4] = { rgb };
    int dst_linesize[4] = { s->rgb_linesize };
    if (!is_rgb(s->desc) && (in->colorspace != s->to_rgb_colorspace || in->color_range != s->to_rgb_range)) {
        set_yuv_details(s->to_rgb, in, 1);
        s->to_rgb_colorspace = in->colorspace;
        s->to_rgb_range = in->color_range;
    }
    return sws_scale(s->to_rgb, (const uint8_t *const *)in->data, in->linesize, 0, in->height, dst, dst_linesize);
}

/* Marks the pixels the engine changed; returns their bounding box in box (x0, y0, x1, y1,
 * exclusive) and how many there are. */
static int64_t find_changes(MicromotionContext *s, const Pending *p, int w, int h, int box[4])
{
    int64_t count = 0;
    box[0] = w; box[1] = h; box[2] = 0; box[3] = 0;
    for (int y = 0; y < h; y++) {
        const uint8_t *a = p->rgb + (ptrdiff_t)y * s->rgb_linesize;
        const uint8_t *b = p->edited + (ptrdiff_t)y * s->rgb_linesize;
        uint8_t *c = s->changed + (ptrdiff_t)y * w;
        int row = 0;
        if (!memcmp(a, b, 3 * w)) {
            memset(c, 0, w);
            continue;
        }
        for (int x = 0; x < w; x++) {
            c[x] = a[3 * x] != b[3 * x] || a[3 * x + 1] != b[3 * x + 1] || a[3 * x + 2] != b[3 * x + 2];
            if (c[x]) {
                row++;
                box[0] = FFMIN(box[0], x);
                box[2] = FFMAX(box[2], x + 1);
            }
        }
        if (row) {
            box[1] = FFMIN(box[1], y);
            box[3] = y + 1;
            count += row;
        }
    }
    return count;
}

/* Does the block of frame pixels that sample (x, y) of a plane subsampled by (sw, sh) covers
 * hold a changed pixel? */
static int block_changed(const MicromotionContext *s, int w, int h, int x, int y, int sw, int sh)
{
    const int x0 = x << sw, y0 = y << sh;
    const int x1 = FFMIN(w, (x + 1) << sw), y1 = FFMIN(h, (y + 1) << sh);
    for (int yy = y0; yy < y1; yy++)
        for (int xx = x0; xx < x1; xx++)
            if (s->changed[(ptrdiff_t)yy * w + xx])
                return 1;
    return 0;
}

/* Writes the engine's pixels into the frame, in the frame's format, where they changed. */
static int write_back(AVFilterContext *ctx, Pending *p, const int box_in[4])
{
    MicromotionContext *s = ctx->priv;
    AVFrame *out = p->in;
    const AVPixFmtDescriptor *desc = s->desc;
    const int w = out->width, h = out->height;
    const int rgb = is_rgb(desc);
    const int sw = rgb ? 0 : desc->log2_chroma_w, sh = rgb ? 0 : desc->log2_chroma_h;
    const int has_alpha = (desc->flags & AV_PIX_FMT_FLAG_ALPHA) != 0;
    /* The region, grown to whole chroma blocks so every chroma sample in it is complete. */
    const int x0 = box_in[0] >> sw << sw, y0 = box_in[1] >> sh << sh;
    const int x1 = FFMIN(w, FFALIGN(box_in[2], 1 << sw)), y1 = FFMIN(h, FFALIGN(box_in[3], 1 << sh));
    const int bw = x1 - x0, bh = y1 - y0;
    const uint8_t *src[4] = { p->edited + (ptrdiff_t)y0 * s->rgb_linesize + 3 * x0 };
    int src_linesize[4] = { s->rgb_linesize };
    AVFrame *tmp;
    int ret;

    if ((ret = av_frame_make_writable(out)) < 0)
        return ret;
    tmp = av_frame_alloc();
    if (!tmp)
        return AVERROR(ENOMEM);
    tmp->format = out->format;
    tmp->width = bw;
    tmp->height = bh;
    if ((ret = av_frame_get_buffer(tmp, 0)) < 0)
        goto end;
    s->from_rgb = sws_getCachedContext(s->from_rgb, bw, bh, AV_PIX_FMT_RGB24, bw, bh, out->format,
                                       SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INP, NULL, NULL, NULL);
    if (!s->from_rgb) {
        ret = AVERROR(EINVAL);
        goto end;
    }
    if (!rgb)
        set_yuv_details(s->from_rgb, out, 0);
    sws_scale(s->from_rgb, src, src_linesize, 0, bh, tmp->data, tmp->linesize);

    for (int c = 0; c < desc->nb_components; c++) {
        const int chroma = !rgb && (c == 1 || c == 2);
        const int csw = chroma ? sw : 0, csh = chroma ? sh : 0;
        const int cx0 = x0 >> csw, cy0 = y0 >> csh;
        const int cw = AV_CEIL_RSHIFT(x1, csw) - cx0, ch = AV_CEIL_RSHIFT(y1, csh) - cy0;
        const AVComponentDescriptor comp = desc->comp[c];
        if (has_alpha && c == desc->nb_components - 1)
            continue;   /* alpha is never the engine's */
        for (int y = 0; y < ch; y++) {
            uint8_t *row = out->data[comp.plane] + (ptrdiff_t)(cy0 + y) * out->linesize[comp.plane] + comp.offset;
            av_read_image_line2(s->line_a, (const uint8_t **)tmp->data, tmp->linesize, desc, 0, y, c, cw, 0, 2);
            /* Stored sample by sample: av_write_image_line2 ORs values into the bytes already
             * there (it is meant for cleared buffers), which mixed the old and new samples. Every
             * listed format has byte-aligned components: 8 bits, or 16 little-endian (10-bit). */
            for (int x = 0; x < cw; x++) {
                uint8_t *q = row + (ptrdiff_t)(cx0 + x) * comp.step;
                if (!block_changed(s, w, h, cx0 + x, cy0 + y, csw, csh))
                    continue;
                if (comp.depth <= 8)
                    *q = (uint8_t)s->line_a[x];
                else
                    AV_WL16(q, s->line_a[x]);
            }
        }
    }
    ret = 0;
end:
    av_frame_free(&tmp);
    return ret;
}

static Pending *slot(MicromotionContext *s, int i)
{
    return &s->queue[(s->head + i) % MAX_PENDING];
}

static void release(Pending *p)
{
    av_frame_free(&p->in);
    av_freep(&p->rgb);
    av_freep(&p->edited);
    p->done = 0;
}

/* Takes one input frame: passed through (timeline disabled) or handed to the engine. */
static int take(AVFilterContext *ctx, AVFrame *in)
{
    MicromotionContext *s = ctx->priv;
    AVFilterLink *inlink = ctx->inputs[0];
    Pending *p = slot(s, s->count);
    const size_t rgb_size = (size_t)s->rgb_linesize * in->height;
    mm_frame f = { 0 };
    double strength;
    int64_t start;
    int ret;

    /* Every buffer here was sized for the link (config_input). A frame of another size or format
     * reaches the filter when the graph is not reconfigured for it (ffmpeg -reinit_filter 0):
     * refused, never read or written out of bounds. */
    if (in->width != inlink->w || in->height != inlink->h || in->format != inlink->format) {
        av_log(ctx, AV_LOG_ERROR, "Frame %d is %dx%d %s but the filter was configured for %dx%d %s; "
               "a size or format change needs the graph reconfigured (do not use -reinit_filter 0) "
               "or a scale filter before micromotion.\n", (int)s->frame_number, in->width, in->height,
               av_get_pix_fmt_name(in->format) ? av_get_pix_fmt_name(in->format) : "(unknown format)",
               inlink->w, inlink->h, av_get_pix_fmt_name(inlink->format));
        av_frame_free(&in);
        return AVERROR(EINVAL);
    }

    memset(p, 0, sizeof(*p));
    p->in = in;
    s->count++;
    s->frame_number++;
    if (ctx->is_disabled) {
        s->frames_disabled++;
        p->done = 1;
        return 0;
    }

    s->var_values[VAR_N] = s->frame_number - 1;
    s->var_values[VAR_PTS] = in->pts == AV_NOPTS_VALUE ? NAN : in->pts;
    s->var_values[VAR_T] = in->pts == AV_NOPTS_VALUE ? NAN : in->pts * av_q2d(inlink->time_base);
    strength = av_expr_eval(s->strength_expr, s->var_values, NULL);
    /* The non-finite rule of every front end (docs/reliability.md): such a frame gets strength 0 (no
     * micromotion); the first one is warned about, the count is in the closing summary. */
    if (!isfinite(strength)) {
        if (!s->frames_nonfinite++)
            av_log(ctx, AV_LOG_WARNING, "The strength is %f at t=%s (n=%"PRId64"): such frames get strength 0 "
                   "(no micromotion); this is reported once.\n", strength,
                   in->pts == AV_NOPTS_VALUE ? "unknown" : av_ts2timestr(in->pts, &inlink->time_base),
                   s->frame_number - 1);
        strength = 0;
    }
    mm_set_strength(s->mm, strength);

    p->rgb = av_malloc(rgb_size);
    p->edited = av_malloc(rgb_size);
    if (!p->rgb || !p->edited)
        return AVERROR(ENOMEM);
    start = av_gettime_relative();
    ret = convert_to_rgb(s, in, p->rgb);
    s->own_seconds += (av_gettime_relative() - start) / 1e6;
    if (ret < 0)
        return ret;

    f.data = p->rgb;
    f.width = in->width;
    f.height = in->height;
    f.stride = s->rgb_linesize;
    f.format = MM_PIXEL_RGB24;
    f.index = s->frame_number - 1;
    f.time = s->var_values[VAR_T];
    f.pts = in->pts;

    if (!s->async) {
        mm_frame out = f;
        start = av_gettime_relative();
        out.data = p->edited;
        if (mm_process(s->mm, &f, &out) < 0) {
            av_log(ctx, AV_LOG_ERROR, "%s\n", mm_error(s->mm));
            return AVERROR_EXTERNAL;
        }
        s->engine_seconds += (av_gettime_relative() - start) / 1e6;
        p->done = 1;
        return 0;
    }
    if (mm_submit(s->mm, &f) < 0) {
        av_log(ctx, AV_LOG_ERROR, "%s\n", mm_error(s->mm));
        return AVERROR_EXTERNAL;
    }
    s->in_engine++;
    return 0;
}

/* Collects finished frames from the engine: all that are ready, or (wait) at least one. */
static int collect(AVFilterContext *ctx, int wait)
{
    MicromotionContext *s = ctx->priv;
    while (s->in_engine > 0) {
        Pending *p = NULL;
        mm_frame out = { 0 };
        int got;
        /* Results come in submission order: the oldest submitted frame not yet done. */
        for (int i = 0; i < s->count && !p; i++)
            if (!slot(s, i)->done)
                p = slot(s, i);
        av_assert0(p);
        out.data = p->edited;
        out.width = p->in->width;
        out.height = p->in->height;
        out.stride = s->rgb_linesize;
        out.format = MM_PIXEL_RGB24;
        got = mm_receive(s->mm, &out, wait);
        if (got < 0) {
            av_log(ctx, AV_LOG_ERROR, "%s\n", mm_error(s->mm));
            return AVERROR_EXTERNAL;
        }
        if (!got)
            return 0;
        p->done = 1;
        s->in_engine--;
        wait = 0;
    }
    return 0;
}

/* Sends every finished frame at the head of the queue; returns how many. */
static int emit(AVFilterContext *ctx)
{
    MicromotionContext *s = ctx->priv;
    AVFilterLink *outlink = ctx->outputs[0];
    int sent = 0;
    while (s->count > 0 && slot(s, 0)->done) {
        Pending *p = slot(s, 0);
        AVFrame *out;
        int ret;
        if (p->rgb) {
            const int64_t start = av_gettime_relative();
            int box[4];
            if (find_changes(s, p, p->in->width, p->in->height, box) > 0) {
                if ((ret = write_back(ctx, p, box)) < 0)
                    return ret;
                s->frames_edited++;
            } else {
                s->frames_untouched++;
            }
            s->own_seconds += (av_gettime_relative() - start) / 1e6;
        }
        out = p->in;
        p->in = NULL;
        release(p);
        s->head = (s->head + 1) % MAX_PENDING;
        s->count--;
        if ((ret = ff_filter_frame(outlink, out)) < 0)
            return ret;
        sent++;
    }
    return sent;
}

static int activate(AVFilterContext *ctx)
{
    MicromotionContext *s = ctx->priv;
    AVFilterLink *inlink = ctx->inputs[0];
    AVFilterLink *outlink = ctx->outputs[0];
    const int depth = s->nireq > 0 ? s->nireq : 2;
    AVFrame *in;
    int64_t pts;
    int ret, status, sent;

    FF_FILTER_FORWARD_STATUS_BACK(outlink, inlink);

    /* Feed the engine while it has room, and the ring while it has room. */
    while (s->count < MAX_PENDING && (!s->async || s->in_engine < depth)) {
        ret = ff_inlink_consume_frame(inlink, &in);
        if (ret < 0)
            return ret;
        if (!ret)
            break;
        if ((ret = take(ctx, in)) < 0)
            return ret;
    }

    /* With the engine full there is nothing else to do than wait for it. */
    ret = collect(ctx, s->async && (s->in_engine >= depth || s->count >= MAX_PENDING) &&
                       ff_inlink_queued_frames(inlink) > 0);
    if (ret < 0)
        return ret;
    if ((sent = emit(ctx)) < 0)
        return sent;
    if (sent) {
        if (ff_inlink_queued_frames(inlink))
            ff_filter_set_ready(ctx, 100);
        return 0;
    }

    if (ff_inlink_acknowledge_status(inlink, &status, &pts)) {
        if (s->async) {
            mm_flush(s->mm);
            while (s->in_engine > 0)
                if ((ret = collect(ctx, 1)) < 0)
                    return ret;
        }
        if ((ret = emit(ctx)) < 0)
            return ret;
        ff_outlink_set_status(outlink, status, pts);
        return 0;
    }

    if (s->async && s->in_engine >= depth) {
        /* Downstream waits for a frame the engine still holds. */
        if ((ret = collect(ctx, 1)) < 0 || (ret = emit(ctx)) < 0)
            return ret;
        return 0;
    }
    FF_FILTER_FORWARD_WANTED(outlink, inlink);
    return FFERROR_NOT_READY;
}

static int process_command(AVFilterContext *ctx, const char *cmd, const char *args,
                           char *res, int res_len, int flags)
{
    MicromotionContext *s = ctx->priv;
    AVExpr *old = s->strength_expr;
    char *old_str = av_strdup(s->strength_str);
    int ret;

    if (!old_str)
        return AVERROR(ENOMEM);
    ret = ff_filter_process_command(ctx, cmd, args, res, res_len, flags);
    if (ret < 0 || (strcmp(cmd, "strength") && strcmp(cmd, "s"))) {
        av_free(old_str);
        return ret;
    }
    s->strength_expr = NULL;
    ret = parse_strength(ctx, s->strength_str, &s->strength_expr);
    if (ret < 0) {
        /* Keep the old expression and its text. */
        s->strength_expr = old;
        av_opt_set(s, "strength", old_str, 0);
    } else {
        av_expr_free(old);
        av_log(ctx, AV_LOG_VERBOSE, "strength is now '%s'\n", s->strength_str);
    }
    av_free(old_str);
    return ret;
}

static av_cold void uninit(AVFilterContext *ctx)
{
    MicromotionContext *s = ctx->priv;
    /* Frames still in the engine (a graph torn down before EOF, e.g. by -frames:v) are dropped:
     * mm_destroy finishes at most the frame being computed. */
    while (s->count > 0) {
        release(slot(s, 0));
        s->head = (s->head + 1) % MAX_PENDING;
        s->count--;
    }
    if (s->frames_edited + s->frames_untouched > 0) {
        const double n = s->frames_edited + s->frames_untouched;
        av_log(ctx, AV_LOG_VERBOSE, "%"PRId64" frames edited, %"PRId64" without a face, %"PRId64" disabled by the timeline; "
               "the filter's own work %.2f ms/frame", s->frames_edited, s->frames_untouched, s->frames_disabled,
               1e3 * s->own_seconds / n);
        if (!s->async)
            av_log(ctx, AV_LOG_VERBOSE, ", the engine's %.1f ms/frame", 1e3 * s->engine_seconds / n);
        av_log(ctx, AV_LOG_VERBOSE, "\n");
    }
    if (s->frames_nonfinite)
        av_log(ctx, AV_LOG_WARNING, "%"PRId64" frames had a strength that is not a finite number and got "
               "strength 0.\n", s->frames_nonfinite);
    mm_destroy(s->mm);
    s->mm = NULL;
    av_expr_free(s->strength_expr);
    s->strength_expr = NULL;
    sws_freeContext(s->to_rgb);
    sws_freeContext(s->from_rgb);
    s->to_rgb = s->from_rgb = NULL;
    av_freep(&s->changed);
    av_freep(&s->line_a);
}

static const AVFilterPad micromotion_inputs[] = {
    {
        .name         = "default",
        .type         = AVMEDIA_TYPE_VIDEO,
        .config_props = config_input,
    },
};

static const AVFilterPad micromotion_outputs[] = {
    {
        .name = "default",
        .type = AVMEDIA_TYPE_VIDEO,
    },
};

const AVFilter ff_vf_micromotion = {
    .name            = "micromotion",
    .description     = NULL_IF_CONFIG_SMALL("Apply a micromotion (smile, aging, ...) to every face with StyleGAN2."),
    .priv_size       = sizeof(MicromotionContext),
    .priv_class      = &micromotion_class,
    .init            = init,
    .uninit          = uninit,
    .activate        = activate,
    FILTER_INPUTS(micromotion_inputs),
    FILTER_OUTPUTS(micromotion_outputs),
    FILTER_PIXFMTS_ARRAY(pix_fmts),
    .process_command = process_command,
    .flags           = AVFILTER_FLAG_SUPPORT_TIMELINE_INTERNAL,
};

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
 * Frames go to the engine as they are, in their own format, colour matrix and range (it
 * converts only the faces and writes back only the samples its edit changes), and are
 * edited in place: every other sample, alpha included, stays bit-exact, and a frame
 * without a face is passed on as it came. The engine's report of each frame says which
 * faces it edited and where.
 *
 * People and edits: edits=FILE (an edit list, docs/edits.md) gives several people by
 * reference photos, their edits and regions; person=PHOTO[,PHOTO...] edits only the faces of
 * one person; region, others and identity_threshold as in the settings table. With
 * keyframe_every K != 1 the networks run on every K-th frame of a face and the filter holds
 * the frames between two keyframes (asynchronous mode) so that the edit is interpolated
 * between them; every frame still comes out, in order, with its timestamps.
 *
 * Commands (sendcmd, zmq): "strength EXPR" sets the strength of every edit; "edit I=EXPR" or
 * "edit NAME=EXPR" sets one edit's strength, by its index in the edit list or its name
 * ("person/anchor", or "anchor" for an edit for everyone). A bad command is logged and the old
 * strength stays.
 */

#include <float.h>
#include <math.h>
#include <string.h>

#include <micromotion/micromotion.h>

#include "libavutil/avassert.h"
#include "libavutil/bprint.h"
#include "libavutil/internal.h"
#include "libavutil/mem.h"
#include "libavutil/opt.h"
#include "libavutil/pixdesc.h"
#include "libavutil/time.h"
#include "libavutil/timestamp.h"

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

/* Frames held by the filter at most without keyframes (keyframe_every 1): in the engine, plus
 * finished ones waiting for an earlier frame (order is kept), plus frames passed through by the
 * timeline. With keyframe_every K != 1 the engine holds up to about K frames more (look-ahead)
 * and the ring is sized for it (init). */
#define MAX_PENDING 64
/* keyframe_every 0 (auto): keyframes at most this many frames apart (the settings table's help). */
#define AUTO_KEYFRAME_GAP 8
/* Frames past the keyframe gap the engine may still hold a face for (a track lost and re-found:
 * the tracker's missed frames, with room to spare). */
#define LOOKAHEAD_MARGIN 8


typedef struct Pending {
    AVFrame *in;       ///< the frame (owned): edited in place, or the engine's result once received
    int done;          ///< ready to go out
    int disabled;      ///< timeline-disabled: goes out as it came (with look-ahead it still goes through the engine)
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
    char *edits;
    char *person;
    char *region;
    int others;
    double identity_threshold;
    int keyframe_every;
    double keyframe_threshold;
    int reconstruct_at;

    mm_context *mm;                 ///< evaluates the strength expression per frame (t, n, pts)

    mm_pixel_format format;         ///< the link's format, as the engine names it

    Pending *queue;                 ///< ring buffer of capacity frames, oldest at head
    int capacity;
    int head, count;
    int in_engine;                  ///< submitted, not yet received
    int engine_limit;               ///< frames in the engine at most: queue_depth plus the look-ahead
    int lookahead;                  ///< keyframe_every != 1: frames the engine may hold for a later keyframe
    AVFrame *scratch;               ///< look-ahead: where results of timeline-disabled frames are received (dropped)
    int64_t frame_number;
    int64_t frames_nonfinite;       ///< frames whose strength was NaN or infinite (strength 0, the engine's report)

    int64_t frames_edited, frames_untouched, frames_disabled;
    int64_t faces_edited;           ///< over all frames (the engine's reports)
    int colorspace_warned;          ///< BT.2020 constant luminance was reported once
    int described_matrix, described_range; ///< what the engine was last told (logged on change)
    double engine_seconds;          ///< in mm_process (sync mode)
} MicromotionContext;

#define OFFSET(x) offsetof(MicromotionContext, x)
#define FLAGS (AV_OPT_FLAG_FILTERING_PARAM | AV_OPT_FLAG_VIDEO_PARAM)
#define TFLAGS (AV_OPT_FLAG_FILTERING_PARAM | AV_OPT_FLAG_VIDEO_PARAM | AV_OPT_FLAG_RUNTIME_PARAM)

/* The engine's settings, by the names, defaults, ranges and help of its settings table
 * (`micromotion settings`; FfmpegOptions.MatchTheSettingsTable checks this table against it).
 * Older spellings stay as aliases: iters, warm_iters, models, nireq. async is the filter's own. */
static const AVOption micromotion_options[] = {
    { "anchor", "micromotion to apply: a published name (aging, angry, eyesClose, headsTurn, smile) or a .safetensors/.npy file",
        OFFSET(anchor), AV_OPT_TYPE_STRING, { .str = "smile" }, 0, 0, FLAGS },
    { "strength", "edit strength: a number or an expression in t (seconds), n (frame number) and pts (docs/strength.md); the paper's scale is about 5",
        OFFSET(strength_str), AV_OPT_TYPE_STRING, { .str = "5" }, 0, 0, TFLAGS },
    { "s", "same as strength",
        OFFSET(strength_str), AV_OPT_TYPE_STRING, { .str = "5" }, 0, 0, TFLAGS },
    { "encoder", "inversion encoder: restyle, e4e, psp or a checkpoint path",
        OFFSET(encoder), AV_OPT_TYPE_STRING, { .str = "restyle" }, 0, 0, FLAGS },
    { "iterations", "ReStyle steps for a newly found face (-1: the checkpoint's default)",
        OFFSET(iters), AV_OPT_TYPE_INT, { .i64 = -1 }, -1, 100, FLAGS },
    { "iters", "same as iterations",
        OFFSET(iters), AV_OPT_TYPE_INT, { .i64 = -1 }, -1, 100, FLAGS },
    { "warm_iterations", "ReStyle steps per frame once a face is tracked",
        OFFSET(warm_iters), AV_OPT_TYPE_INT, { .i64 = 1 }, 0, 100, FLAGS },
    { "warm_iters", "same as warm_iterations",
        OFFSET(warm_iters), AV_OPT_TYPE_INT, { .i64 = 1 }, 0, 100, FLAGS },
    { "faces", "which faces to edit: every face, or the largest only",
        OFFSET(faces), AV_OPT_TYPE_INT, { .i64 = MM_FACES_ALL }, MM_FACES_ALL, MM_FACES_LARGEST, FLAGS, "faces" },
        { "all",     "every face",           0, AV_OPT_TYPE_CONST, { .i64 = MM_FACES_ALL },     0, 0, FLAGS, "faces" },
        { "largest", "the largest face only", 0, AV_OPT_TYPE_CONST, { .i64 = MM_FACES_LARGEST }, 0, 0, FLAGS, "faces" },
    { "mode", "how the edited face is pasted back: the regenerated face, or only the edit G(w') - G(w) added",
        OFFSET(mode), AV_OPT_TYPE_INT, { .i64 = MM_MODE_REPLACE }, MM_MODE_REPLACE, MM_MODE_DELTA, FLAGS, "mode" },
        { "replace", "paste the regenerated face",                               0, AV_OPT_TYPE_CONST, { .i64 = MM_MODE_REPLACE }, 0, 0, FLAGS, "mode" },
        { "delta",   "add only the edit, G(w') - G(w), keeping the real face's detail", 0, AV_OPT_TYPE_CONST, { .i64 = MM_MODE_DELTA },   0, 0, FLAGS, "mode" },
    { "feather", "width of the face mask's soft edge",
        OFFSET(feather), AV_OPT_TYPE_DOUBLE, { .dbl = 0.06 }, 0, 0.5, FLAGS },
    { "models_dir", "models directory (empty: $MICROMOTION_MODELS, then the user and system data directories)",
        OFFSET(models), AV_OPT_TYPE_STRING, { .str = NULL }, 0, 0, FLAGS },
    { "models", "same as models_dir",
        OFFSET(models), AV_OPT_TYPE_STRING, { .str = NULL }, 0, 0, FLAGS },
    { "device", "where the networks run: cpu, cuda or cuda:N",
        OFFSET(device), AV_OPT_TYPE_STRING, { .str = "cpu" }, 0, 0, FLAGS },
    { "dtype", "network precision (auto: bf16 where this CPU runs it faster than fp32, measured once per machine)",
        OFFSET(dtype), AV_OPT_TYPE_STRING, { .str = "auto" }, 0, 0, FLAGS },
    { "detect_every", "run full-frame face detection every N frames (faces are tracked in between)",
        OFFSET(detect_every), AV_OPT_TYPE_INT, { .i64 = 10 }, 1, 10000, FLAGS },
    { "smooth", "smooth face landmarks over time (one-euro filter)",
        OFFSET(smooth), AV_OPT_TYPE_BOOL, { .i64 = 1 }, 0, 1, FLAGS },
    { "queue_depth", "frames queued for the engine when it runs asynchronously",
        OFFSET(nireq), AV_OPT_TYPE_INT, { .i64 = 2 }, 1, MAX_PENDING / 2, FLAGS },
    { "nireq", "same as queue_depth (the dnn filters' name)",
        OFFSET(nireq), AV_OPT_TYPE_INT, { .i64 = 2 }, 1, MAX_PENDING / 2, FLAGS },
    { "threads", "CPU threads for the networks (0: every CPU, or $MICROMOTION_THREADS)",
        OFFSET(threads), AV_OPT_TYPE_INT, { .i64 = 0 }, 0, 1024, FLAGS },
    { "async", "run the networks on their own thread, overlapping decoding and encoding (auto: on for cuda, off on the CPU, where they already use every core)",
        OFFSET(async), AV_OPT_TYPE_BOOL, { .i64 = -1 }, -1, 1, FLAGS },
    { "edits", "edit-list file (JSON, docs/edits.md): people by reference photos, their edits, regions and others; replaces anchor and strength",
        OFFSET(edits), AV_OPT_TYPE_STRING, { .str = NULL }, 0, 0, FLAGS },
    { "person", "a person by reference photos, NAME=PHOTO[,PHOTO...]: only faces matching a person are edited (see others)",
        OFFSET(person), AV_OPT_TYPE_STRING, { .str = NULL }, 0, 0, FLAGS },
    { "region", "where the edit writes: face, eyes, brows, mouth, nose, jaw or a union (eyes+mouth)",
        OFFSET(region), AV_OPT_TYPE_STRING, { .str = "face" }, 0, 0, FLAGS },
    { "others", "faces that match no person: keep them as they are, or give them the edits for everyone (auto: keep once a person is named)",
        OFFSET(others), AV_OPT_TYPE_INT, { .i64 = 0 }, 0, 2, FLAGS, "others" },
        { "auto", "keep once a person is named, else edit", 0, AV_OPT_TYPE_CONST, { .i64 = 0 }, 0, 0, FLAGS, "others" },
        { "keep", "leave them as they are",                 0, AV_OPT_TYPE_CONST, { .i64 = 1 }, 0, 0, FLAGS, "others" },
        { "edit", "give them the edits for everyone",       0, AV_OPT_TYPE_CONST, { .i64 = 2 }, 0, 0, FLAGS, "others" },
    { "identity_threshold", "largest face-recognition distance at which a face is a person (dlib's documented 0.6)",
        OFFSET(identity_threshold), AV_OPT_TYPE_DOUBLE, { .dbl = 0.6 }, 0.05, 2, FLAGS },
    { "keyframe_every", "run the networks on every K-th frame of a face and interpolate the edit in between (1: every frame; 0 or auto: when the face has changed, at most 8 apart)",
        OFFSET(keyframe_every), AV_OPT_TYPE_INT, { .i64 = 1 }, 0, 1000, FLAGS, "keyframe_every" },
        { "auto", "when the face has changed, at most 8 apart", 0, AV_OPT_TYPE_CONST, { .i64 = 0 }, 0, 0, FLAGS, "keyframe_every" },
    { "keyframe_threshold", "with keyframe_every auto: the change of the aligned face since its last keyframe (mean absolute difference) that makes a new one",
        OFFSET(keyframe_threshold), AV_OPT_TYPE_DOUBLE, { .dbl = 0.04 }, 0.001, 1, FLAGS },
    { "reconstruct_at", "resolution of ReStyle's warm-start reconstruction of each face (0: the generator's; 256 costs less, the result differs slightly)",
        OFFSET(reconstruct_at), AV_OPT_TYPE_INT, { .i64 = 0 }, 0, 1024, FLAGS },
    { NULL }
};

AVFILTER_DEFINE_CLASS(micromotion);

/* The formats the filter takes, each with the engine's name for it (the engine reads and writes
 * them natively). The yuvj ones are their yuv twins in full range. */
static const struct { enum AVPixelFormat av; mm_pixel_format mm; } format_map[] = {
    { AV_PIX_FMT_RGB24, MM_PIXEL_RGB24 },     { AV_PIX_FMT_BGR24, MM_PIXEL_BGR24 },
    { AV_PIX_FMT_RGBA, MM_PIXEL_RGBA },       { AV_PIX_FMT_BGRA, MM_PIXEL_BGRA },
    { AV_PIX_FMT_ARGB, MM_PIXEL_ARGB },       { AV_PIX_FMT_ABGR, MM_PIXEL_ABGR },
    { AV_PIX_FMT_RGB0, MM_PIXEL_RGB0 },       { AV_PIX_FMT_BGR0, MM_PIXEL_BGR0 },
    { AV_PIX_FMT_YUV420P, MM_PIXEL_YUV420P }, { AV_PIX_FMT_YUV422P, MM_PIXEL_YUV422P },
    { AV_PIX_FMT_YUV444P, MM_PIXEL_YUV444P },
    { AV_PIX_FMT_YUVJ420P, MM_PIXEL_YUV420P }, { AV_PIX_FMT_YUVJ422P, MM_PIXEL_YUV422P },
    { AV_PIX_FMT_YUVJ444P, MM_PIXEL_YUV444P },
    { AV_PIX_FMT_YUVA420P, MM_PIXEL_YUVA420P }, { AV_PIX_FMT_NV12, MM_PIXEL_NV12 },
    { AV_PIX_FMT_NV21, MM_PIXEL_NV21 },
    { AV_PIX_FMT_YUV420P10LE, MM_PIXEL_YUV420P10 }, { AV_PIX_FMT_YUV422P10LE, MM_PIXEL_YUV422P10 },
    { AV_PIX_FMT_YUV444P10LE, MM_PIXEL_YUV444P10 }, { AV_PIX_FMT_P010LE, MM_PIXEL_P010 },
    { AV_PIX_FMT_YUYV422, MM_PIXEL_YUYV422 }, { AV_PIX_FMT_UYVY422, MM_PIXEL_UYVY422 },
    { AV_PIX_FMT_YVYU422, MM_PIXEL_YVYU422 },
    { AV_PIX_FMT_GRAY8, MM_PIXEL_GRAY8 },
};

static const enum AVPixelFormat pix_fmts[] = {
    AV_PIX_FMT_RGB24, AV_PIX_FMT_BGR24, AV_PIX_FMT_RGBA, AV_PIX_FMT_BGRA,
    AV_PIX_FMT_ARGB, AV_PIX_FMT_ABGR, AV_PIX_FMT_RGB0, AV_PIX_FMT_BGR0,
    AV_PIX_FMT_YUV420P, AV_PIX_FMT_YUV422P, AV_PIX_FMT_YUV444P,
    AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_YUVJ422P, AV_PIX_FMT_YUVJ444P,
    AV_PIX_FMT_YUVA420P, AV_PIX_FMT_NV12, AV_PIX_FMT_NV21,
    AV_PIX_FMT_YUV420P10LE, AV_PIX_FMT_YUV422P10LE, AV_PIX_FMT_YUV444P10LE, AV_PIX_FMT_P010LE,
    AV_PIX_FMT_YUYV422, AV_PIX_FMT_UYVY422, AV_PIX_FMT_YVYU422,
    AV_PIX_FMT_GRAY8,
    AV_PIX_FMT_NONE
};

/* The strength is the engine's own expression language (docs/strength.md: FFmpeg's functions
 * and operators, variables t, n, pts), the same as render's --strength: checked here so that a
 * bad one is reported as such. */
static int check_strength(AVFilterContext *ctx, const char *text)
{
    char error[1024];
    if (mm_check_strength_expr(text, error, sizeof(error)) < 0) {
        av_log(ctx, AV_LOG_ERROR, "Invalid strength expression '%s': %s\n", text, error);
        return AVERROR(EINVAL);
    }
    return 0;
}

static av_cold int init(AVFilterContext *ctx)
{
    MicromotionContext *s = ctx->priv;
    mm_params p = mm_default_params();
    char error[2048];
    int ret;

    if ((ret = check_strength(ctx, s->strength_str)) < 0)
        return ret;

    p.anchor         = s->anchor;
    p.strength_expr  = s->strength_str;
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
    p.queue_depth    = s->nireq;
    p.edits          = s->edits && *s->edits ? s->edits : NULL;
    p.person         = s->person && *s->person ? s->person : NULL;
    p.region         = s->region && *s->region ? s->region : NULL;
    p.others         = s->others;
    p.identity_threshold = s->identity_threshold;
    p.keyframe_every = s->keyframe_every;
    p.keyframe_threshold = s->keyframe_threshold;
    p.reconstruct_at = s->reconstruct_at;
    /* Keyframes every K frames interpolate the edit between the keyframes on both sides: only
     * mm_submit/mm_receive look ahead (mm_process keeps the keyframe before), so the filter holds
     * the frames between two keyframes. The engine may hold up to the keyframe gap (plus the
     * frames a lost face is waited for) beyond its queue: the filter lets that many more in, so
     * that waiting for a result never waits for a frame not yet submitted. */
    if (s->keyframe_every != 1) {
        if (s->async == 0)   /* given as such, not auto */
            av_log(ctx, AV_LOG_WARNING, "async=0 is ignored with keyframe_every=%d: the frames between "
                   "keyframes are held to interpolate the edit (asynchronous mode).\n", s->keyframe_every);
        s->async = 1;
        s->lookahead = (s->keyframe_every > 0 ? s->keyframe_every : AUTO_KEYFRAME_GAP) + LOOKAHEAD_MARGIN;
    }
    /* On the CPU the networks use every core: overlapping them with decoding and encoding only
     * makes their threads wait for each other (measured ~9% slower on 2 cores). */
    if (s->async < 0)
        s->async = !strncmp(s->device, "cuda", 4);
    s->engine_limit = s->nireq + s->lookahead;
    s->capacity = FFMAX(MAX_PENDING, 2 * s->engine_limit);
    if (!(s->queue = av_calloc(s->capacity, sizeof(*s->queue))))
        return AVERROR(ENOMEM);

    s->mm = mm_create(&p, error, sizeof(error));
    if (!s->mm) {
        av_log(ctx, AV_LOG_ERROR, "%s\n", error);
        return AVERROR(EINVAL);
    }
    av_log(ctx, AV_LOG_VERBOSE, "libmicromotion %s: anchor=%s encoder=%s device=%s dtype=%s %s\n",
           mm_version(), p.edits ? "(edit list)" : s->anchor, s->encoder, s->device, s->dtype,
           s->async ? "async" : "sync");
    for (int i = 0; i < mm_edit_count(s->mm); i++)
        av_log(ctx, AV_LOG_VERBOSE, "edit %d: %s\n", i, mm_edit_name(s->mm, i));
    if (s->lookahead)
        av_log(ctx, AV_LOG_VERBOSE, "keyframe_every=%d: up to %d frames held for the look-ahead\n",
               s->keyframe_every, s->engine_limit);
    return 0;
}

static av_cold int config_input(AVFilterLink *inlink)
{
    AVFilterContext *ctx = inlink->dst;
    MicromotionContext *s = ctx->priv;
    AVRational rate = link_frame_rate(inlink);
    int found = 0;

    for (int i = 0; i < FF_ARRAY_ELEMS(format_map); i++)
        if (format_map[i].av == inlink->format) {
            s->format = format_map[i].mm;
            found = 1;
        }
    av_assert0(found);   /* the link was negotiated from pix_fmts */
    if (rate.num > 0 && rate.den > 0 && mm_set_frame_rate(s->mm, av_q2d(rate)) < 0) {
        av_log(ctx, AV_LOG_ERROR, "%s\n", mm_error(s->mm));
        return AVERROR(EINVAL);
    }
    s->described_matrix = s->described_range = -1;
    return 0;
}

/* The engine's description of an AVFrame: its planes, matrix and range (untagged: BT.601, as
 * swscale assumes). */
static void describe(AVFilterContext *ctx, const AVFrame *in, mm_frame *f)
{
    MicromotionContext *s = ctx->priv;
    memset(f, 0, sizeof(*f));
    for (int i = 0; i < 4; i++) {
        f->data[i] = in->data[i];
        f->stride[i] = in->linesize[i];
    }
    f->width = in->width;
    f->height = in->height;
    f->format = s->format;
    switch (in->colorspace) {
    case AVCOL_SPC_BT709:
        f->matrix = MM_MATRIX_BT709;
        break;
    case AVCOL_SPC_BT2020_CL:
        if (!s->colorspace_warned++)
            av_log(ctx, AV_LOG_WARNING, "BT.2020 constant luminance is edited as BT.2020 non-constant "
                   "luminance; faces may be slightly off in colour.\n");
        /* fall through */
    case AVCOL_SPC_BT2020_NCL:
        f->matrix = MM_MATRIX_BT2020;
        break;
    default:
        f->matrix = MM_MATRIX_BT601;
    }
    f->range = in->color_range == AVCOL_RANGE_JPEG || in->format == AV_PIX_FMT_YUVJ420P ||
               in->format == AV_PIX_FMT_YUVJ422P || in->format == AV_PIX_FMT_YUVJ444P
               ? MM_RANGE_FULL : MM_RANGE_LIMITED;
    if (f->matrix != s->described_matrix || f->range != s->described_range) {
        static const char *const matrices[] = { "BT.601", "BT.709", "BT.2020" };
        const int rgb = (av_pix_fmt_desc_get(in->format)->flags & AV_PIX_FMT_FLAG_RGB) != 0;
        av_log(ctx, AV_LOG_VERBOSE, "frames go to the engine as %s%s%s%s\n", mm_pixel_format_name(f->format),
               rgb ? "" : ", ", rgb ? "" : matrices[f->matrix],
               rgb ? "" : f->range == MM_RANGE_FULL ? ", full range" : ", limited range");
        s->described_matrix = f->matrix;
        s->described_range = f->range;
    }
}

/* Counts one finished frame from the engine's report. The non-finite rule of every front end
 * (docs/reliability.md): a frame whose strength is NaN or infinite gets strength 0 (no
 * micromotion); the first one is warned about, the count is in the closing summary. */
static void count_report(AVFilterContext *ctx, const mm_report *r, double t, int64_t n)
{
    MicromotionContext *s = ctx->priv;
    if (r->strength_non_finite && !s->frames_nonfinite++) {
        char when[64] = "an unknown time";
        if (!isnan(t))
            snprintf(when, sizeof(when), "t=%.3f", t);
        av_log(ctx, AV_LOG_WARNING, "The strength '%s' is not a finite number at %s (n=%"PRId64"): such frames "
               "get strength 0 (no micromotion); this is reported once.\n", s->strength_str, when, n);
    }
    av_log(ctx, AV_LOG_DEBUG, "frame %"PRId64": strength %g, %d faces edited\n", n, r->strength, r->faces_edited);
    if (r->faces_edited > 0) {
        s->frames_edited++;
        s->faces_edited += r->faces_edited;
    } else {
        s->frames_untouched++;
    }
}

static Pending *slot(MicromotionContext *s, int i)
{
    return &s->queue[(s->head + i) % s->capacity];
}

static void release(Pending *p)
{
    av_frame_free(&p->in);
    p->done = 0;
}

/* Takes one input frame: passed through (timeline disabled) or handed to the engine. */
static int take(AVFilterContext *ctx, AVFrame *in)
{
    MicromotionContext *s = ctx->priv;
    AVFilterLink *inlink = ctx->inputs[0];
    Pending *p = slot(s, s->count);
    mm_frame f;
    int ret;

    /* The engine was told the link's format (config_input). A frame of another size or format
     * reaches the filter when the graph is not reconfigured for it (ffmpeg -reinit_filter 0):
     * refused, never read or written as something it is not. */
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
        /* With look-ahead the engine holds frames until a later keyframe: it still gets this one
         * (its result is dropped), else a long disabled stretch would hold every frame until EOF. */
        if (!s->lookahead) {
            p->done = 1;
            return 0;
        }
        p->disabled = 1;
    }

    /* Sync mode edits the frame in place: the engine writes only the samples of the faces it edits. */
    if (!s->async && (ret = av_frame_make_writable(in)) < 0)
        return ret;
    describe(ctx, in, &f);
    f.index = s->frame_number - 1;
    f.time = in->pts == AV_NOPTS_VALUE ? NAN : in->pts * av_q2d(inlink->time_base);
    f.pts = in->pts == AV_NOPTS_VALUE ? INT64_MIN : in->pts;

    if (!s->async) {
        mm_report report;
        const int64_t start = av_gettime_relative();
        if (mm_process(s->mm, &f, &f, &report) < 0) {
            av_log(ctx, AV_LOG_ERROR, "%s\n", mm_error(s->mm));
            return AVERROR_EXTERNAL;
        }
        s->engine_seconds += (av_gettime_relative() - start) / 1e6;
        count_report(ctx, &report, f.time, f.index);
        p->done = 1;
        return 0;
    }
    /* mm_submit copies the frame: it stays ours until its result comes back into it. */
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
        mm_frame out;
        mm_report report;
        int got, ret;
        /* Results come in submission order: the oldest submitted frame not yet done. */
        for (int i = 0; i < s->count && !p; i++)
            if (!slot(s, i)->done)
                p = slot(s, i);
        av_assert0(p);
        if (p->disabled) {
            /* A timeline-disabled frame goes out as it came: its result lands in the scratch frame. */
            if (!s->scratch) {
                if (!(s->scratch = av_frame_alloc()))
                    return AVERROR(ENOMEM);
                s->scratch->format = p->in->format;
                s->scratch->width = p->in->width;
                s->scratch->height = p->in->height;
                if ((ret = av_frame_get_buffer(s->scratch, 0)) < 0)
                    return ret;
            }
            s->scratch->colorspace = p->in->colorspace;
            s->scratch->color_range = p->in->color_range;
            describe(ctx, s->scratch, &out);
        } else {
            if ((ret = av_frame_make_writable(p->in)) < 0)
                return ret;
            describe(ctx, p->in, &out);
        }
        got = mm_receive(s->mm, &out, wait, &report);
        if (got < 0) {
            av_log(ctx, AV_LOG_ERROR, "%s\n", mm_error(s->mm));
            return AVERROR_EXTERNAL;
        }
        if (!got)
            return 0;
        if (!p->disabled)
            count_report(ctx, &report, out.time, out.index);
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
        AVFrame *out = p->in;
        int ret;
        p->in = NULL;
        release(p);
        s->head = (s->head + 1) % s->capacity;
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
    const int depth = s->engine_limit;
    AVFrame *in;
    int64_t pts;
    int ret, status, sent;

    FF_FILTER_FORWARD_STATUS_BACK(outlink, inlink);

    /* Feed the engine while it has room, and the ring while it has room. */
    while (s->count < s->capacity && (!s->async || s->in_engine < depth)) {
        ret = ff_inlink_consume_frame(inlink, &in);
        if (ret < 0)
            return ret;
        if (!ret)
            break;
        if ((ret = take(ctx, in)) < 0)
            return ret;
    }

    /* With the engine full there is nothing else to do than wait for it. */
    ret = collect(ctx, s->async && (s->in_engine >= depth || s->count >= s->capacity) &&
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

/* The edit command: "I=EXPR" (the index of mm_edit_name's list) or "NAME=EXPR" (NAME as
 * mm_edit_name gives it: "person/anchor", or "anchor" for an edit for everyone) sets that
 * edit's strength from the next frame on. A bad index, name or expression is reported and the
 * edit keeps its strength. */
static int edit_command(AVFilterContext *ctx, const char *args)
{
    MicromotionContext *s = ctx->priv;
    const int count = mm_edit_count(s->mm);
    const char *eq = args ? strchr(args, '=') : NULL;
    const char *expr = NULL;
    int edit = -1;

    if (!eq || eq == args) {
        av_log(ctx, AV_LOG_ERROR, "edit command '%s': expected I=STRENGTH or NAME=STRENGTH "
               "(NAME as 'person/anchor' or 'anchor')\n", args ? args : "");
        return AVERROR(EINVAL);
    }
    /* A name first (the longest that matches, so that a name holding '=' still works), then an index. */
    for (int i = 0; i < count; i++) {
        const char *name = mm_edit_name(s->mm, i);
        const size_t len = strlen(name);
        if (!strncmp(args, name, len) && args[len] == '=' && (!expr || args + len + 1 > expr)) {
            edit = i;
            expr = args + len + 1;
        }
    }
    if (edit < 0) {
        char *end = NULL;
        const long i = strtol(args, &end, 10);
        if (end == eq && args[0] >= '0' && args[0] <= '9') {
            if (i >= count) {
                av_log(ctx, AV_LOG_ERROR, "edit command '%s': no edit %ld (there are %d: 0 to %d)\n",
                       args, i, count, count - 1);
                return AVERROR(EINVAL);
            }
            edit = (int)i;
            expr = eq + 1;
        }
    }
    if (edit < 0) {
        AVBPrint names;
        av_bprint_init(&names, 0, AV_BPRINT_SIZE_AUTOMATIC);
        for (int i = 0; i < count; i++)
            av_bprintf(&names, "%s%d: %s", i ? ", " : "", i, mm_edit_name(s->mm, i));
        av_log(ctx, AV_LOG_ERROR, "edit command '%s': no edit named '%.*s' (edits: %s)\n", args,
               (int)(eq - args), args, names.str);
        av_bprint_finalize(&names, NULL);
        return AVERROR(EINVAL);
    }
    if (mm_set_edit_strength(s->mm, edit, expr) < 0) {
        av_log(ctx, AV_LOG_ERROR, "edit command '%s': edit %d (%s): %s; its strength is unchanged\n",
               args, edit, mm_edit_name(s->mm, edit), mm_error(s->mm));
        return AVERROR(EINVAL);
    }
    av_log(ctx, AV_LOG_VERBOSE, "edit %d (%s): strength is now '%s'\n", edit, mm_edit_name(s->mm, edit), expr);
    return 0;
}

static int process_command(AVFilterContext *ctx, const char *cmd, const char *args,
                           char *res, int res_len, int flags)
{
    MicromotionContext *s = ctx->priv;
    char *old_str;
    int ret;

    if (!strcmp(cmd, "edit"))
        return edit_command(ctx, args);
    if (!(old_str = av_strdup(s->strength_str)))
        return AVERROR(ENOMEM);
    ret = ff_filter_process_command(ctx, cmd, args, res, res_len, flags);
    if (ret < 0 || (strcmp(cmd, "strength") && strcmp(cmd, "s"))) {
        av_free(old_str);
        return ret;
    }
    if ((ret = check_strength(ctx, s->strength_str)) < 0 || mm_set_strength_expr(s->mm, s->strength_str) < 0) {
        /* Keep the old expression and its text. */
        if (ret >= 0) {
            av_log(ctx, AV_LOG_ERROR, "%s\n", mm_error(s->mm));
            ret = AVERROR(EINVAL);
        }
        av_opt_set(s, "strength", old_str, 0);
    } else {
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
    while (s->queue && s->count > 0) {
        release(slot(s, 0));
        s->head = (s->head + 1) % s->capacity;
        s->count--;
    }
    av_freep(&s->queue);
    av_frame_free(&s->scratch);
    if (s->frames_edited + s->frames_untouched > 0) {
        const double n = s->frames_edited + s->frames_untouched;
        av_log(ctx, AV_LOG_VERBOSE, "%"PRId64" frames edited (%"PRId64" faces), %"PRId64" without a face, "
               "%"PRId64" disabled by the timeline", s->frames_edited, s->faces_edited, s->frames_untouched,
               s->frames_disabled);
        if (!s->async)
            av_log(ctx, AV_LOG_VERBOSE, "; the engine's %.1f ms/frame", 1e3 * s->engine_seconds / n);
        av_log(ctx, AV_LOG_VERBOSE, "\n");
    }
    if (s->frames_nonfinite)
        av_log(ctx, AV_LOG_WARNING, "%"PRId64" frames had a strength that is not a finite number and got "
               "strength 0.\n", s->frames_nonfinite);
    mm_destroy(s->mm);
    s->mm = NULL;
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

/* micromotion/micromotion.h — the C API of the engine, for C front ends (FFmpeg, OBS).
 *
 * No LibTorch, dlib or C++ type crosses this header; it is valid C99 and C++.
 *
 * mm_default_params(): every field at its default from the settings table (below).
 * mm_setting_count() / mm_setting_info_at(i) / mm_setting_find(name): the settings table, the one
 *   home of every engine setting's name, type, default, range or choices, help, units, the front
 *   ends that show it (and why not where not) and whether it may change while running. The
 *   mm_params field of a setting has its name; `micromotion settings` prints the table.
 *   mm_setting_info_at returns NULL outside [0, mm_setting_count()), mm_setting_find for an
 *   unknown name.
 * mm_version(): the library's version ("0.1.0").
 * mm_create(params, error, error_size)
 *   requires: params != NULL, params->anchor names a micromotion (published name or file path).
 *   ensures:  a context for ONE video stream, or NULL with a complete message copied into
 *             error (when error != NULL; always NUL-terminated, truncated to error_size).
 *             Out-of-range fields (feather outside [0, 0.5], detect_every < 1, queue_depth < 1,
 *             threads < 0) are refused with a message naming the field.
 *             threads sizes the process-wide LibTorch pool (the last context created wins).
 * People and edits: with params->edits (an edit-list file, docs/edits.md) the people, their
 *   edits and regions come from the file; else the one edit is anchor at strength for everyone,
 *   or, with params->person (PHOTO[,PHOTO...]), only for faces of that person. A face without
 *   an edit is left bit-exact and not reported. Errors name the list's entry.
 * Two rates: params->keyframe_every K runs the networks on every K-th frame of a face (and its
 *   first, and on a change of person); mm_process gives the frames between the edit of the
 *   keyframe before, mm_submit/mm_receive hold up to K frames and interpolate between the
 *   keyframes on both sides (mm_flush releases the held ones). params->live: mm_process and
 *   mm_submit return each frame at once with each face's newest edit warped onto it; the
 *   networks refresh the edits on the engine's own thread (mm_live_status).
 * mm_process(ctx, in, out, report)
 *   requires: in and out are frames of one size and format (mm_frame below; out has its own
 *             strides); in and out may be the same frame (in place: no copy at all).
 *   ensures:  out = the edited frame at strength mm_set_strength's value (or, when
 *             params->strength_expr was set, that expression at in->time seconds and frame
 *             in->index), in the frame's own format: the engine converts only the faces, at the
 *             frame's bit depth with its matrix and range, and writes only the samples its edit
 *             changes. A frame without a face, every sample outside the faces and alpha (and
 *             the padding byte of rgb0/bgr0) are bit-exact. report (NULL: not wanted): the faces
 *             found and edited, per edited face its track id, the box in frame pixels that holds
 *             every sample written for it and the synthesis resolution.
 *   returns:  0, or -1 with mm_error(ctx) saying why (e.g. a NULL plane, a stride too small).
 * mm_submit / mm_receive / mm_flush: the same, asynchronously (the engine works on its own
 *   thread; up to params->queue_depth frames wait). mm_submit copies the frame. mm_receive
 *   writes the next finished frame into out (out's width, height and format must match the
 *   submitted frame's), sets out->index, out->time and out->pts to the submitted ones and
 *   fills report (when not NULL); returns 1 with a frame, 0 when none is ready (wait == 0) or,
 *   after mm_flush, when all are delivered; -1 on error. mm_latency(ctx): frames submitted and
 *   not yet received.
 * mm_plane_row_bytes(format, width, plane) / mm_plane_rows(format, height, plane): the bytes of
 *   one row and the rows of a plane of such a frame (0 for a plane the format does not have),
 *   for front ends that copy frames. mm_pixel_format_name(format): FFmpeg's name of it ("nv12";
 *   NULL for a value that is not a format).
 * mm_set_strength(ctx, s): frames processed or submitted from now on use the constant s (it
 *   replaces params->strength_expr). Returns 0, or -1 for a NULL ctx.
 * mm_set_strength_expr(ctx, expr): from now on the strength is expr, an expression in t
 *   (in->time), n (in->index) and pts (in->pts; INT64_MIN: unknown, NaN) in the one strength
 *   language of every front end (docs/strength.md). Returns 0, or -1 with mm_error(ctx) quoting
 *   the expression and the column of the problem; the previous strength stays.
 * mm_set_strength / mm_set_strength_expr set the strength of every edit (the one-edit shorthand).
 * mm_edit_count(ctx) / mm_edit_name(ctx, i): the edits (one without params->edits; an edit
 *   list's in its order), named "person/anchor" or "anchor" (NULL outside [0, count)).
 * mm_set_edit_strength(ctx, i, expr): edit i's strength from now on (a number or expression).
 *   Returns 0, or -1 with mm_error(ctx) saying why (no such edit, a bad expression: the old stays).
 * mm_live_status(ctx, out): with params->live, the keyframe path's refreshes, latency and rate.
 *   Returns 0, or -1 for a NULL argument.
 * mm_check_strength_expr(expr, error, error_size): 0 when expr parses, else -1 with the message
 *   copied into error (as mm_create does); needs no context.
 * Strengths that are not a finite number (NaN, +-inf: a constant, or the expression's value at
 *   a frame, e.g. "5/t" at t = 0) mean 0 for that frame: no micromotion (delta mode: the
 *   frame as it came; replace mode: the face's unedited reconstruction). The rule is the same
 *   in every front end; a front end warns the first time (docs/reliability.md).
 * mm_set_frame_rate(ctx, fps): the stream's frame rate for landmark smoothing, when it is known
 *   only after mm_create (fps <= 0: 25). Not while frames are submitted and not received.
 *   Returns 0, or -1 with mm_error(ctx) saying why.
 * mm_error(ctx): the last error of ctx ("" when none); valid until the next call on ctx.
 * mm_destroy(ctx): frees everything; NULL is allowed.
 *
 * Thread-safety: contexts are independent and may be used from different threads at once.
 * One context must not be used by two threads at the same time, except that one thread may
 * call mm_submit while another calls mm_receive / mm_latency.
 */
#ifndef MICROMOTION_MICROMOTION_H
#define MICROMOTION_MICROMOTION_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mm_context mm_context;

/* Pixel formats, named as FFmpeg names them; 10-bit ones are little-endian, p010 holds its
 * values in the high bits of each 16-bit sample. Packed 4:2:2 (yuyv422 and the like) is what
 * webcams deliver. */
typedef enum mm_pixel_format {
  MM_PIXEL_RGB24 = 0, MM_PIXEL_RGBA, MM_PIXEL_BGR24, MM_PIXEL_BGRA, MM_PIXEL_ARGB, MM_PIXEL_ABGR,
  MM_PIXEL_RGB0, MM_PIXEL_BGR0,                  /* 4 bytes a pixel, the 4th is padding       */
  MM_PIXEL_GRAY8,
  MM_PIXEL_YUV420P, MM_PIXEL_YUV422P, MM_PIXEL_YUV444P, MM_PIXEL_YUVA420P,
  MM_PIXEL_NV12, MM_PIXEL_NV21,
  MM_PIXEL_YUV420P10, MM_PIXEL_YUV422P10, MM_PIXEL_YUV444P10, MM_PIXEL_P010,
  MM_PIXEL_YUYV422, MM_PIXEL_UYVY422, MM_PIXEL_YVYU422
} mm_pixel_format;
/* YUV frames only: the colour matrix (BT.2020 non-constant luminance) and the range. */
typedef enum mm_color_matrix { MM_MATRIX_BT601 = 0, MM_MATRIX_BT709 = 1, MM_MATRIX_BT2020 = 2 } mm_color_matrix;
typedef enum mm_color_range { MM_RANGE_LIMITED = 0, MM_RANGE_FULL = 1 } mm_color_range;
typedef enum mm_mode { MM_MODE_REPLACE = 0, MM_MODE_DELTA = 1 } mm_mode;
typedef enum mm_faces { MM_FACES_ALL = 0, MM_FACES_LARGEST = 1 } mm_faces;

/* The engine's settings: each field is the row of the settings table of the same name
 * (mm_setting_find("feather")), which holds its default, range and meaning. */
typedef struct mm_params {
  const char* anchor;         /* micromotion name or file                                 */
  double strength;            /* constant strength, the paper's scale                     */
  const char* strength_expr;  /* NULL, or an expression in t, n and pts (the strength row) */
  const char* models_dir;     /* NULL: $MICROMOTION_MODELS, user data dir, system dir       */
  const char* encoder;        /* "restyle", "e4e", "psp" or a checkpoint path               */
  int iterations;             /* ReStyle steps for a new face; -1: the checkpoint's          */
  int warm_iterations;        /* ReStyle steps per frame once a face is tracked              */
  mm_faces faces;
  mm_mode mode;
  const char* device;
  const char* dtype;
  double frame_rate;          /* landmark smoothing                                          */
  int queue_depth;            /* mm_submit                                                   */
  double feather;             /* mask feather, fraction of the aligned face size             */
  int detect_every;           /* full-frame face detection every N frames                    */
  int smooth;                 /* smooth landmarks over time (one-euro); 0: off               */
  int threads;                /* 0: every CPU (or $MICROMOTION_THREADS); else that many      */
  const char* edits;          /* NULL: anchor and strength; else an edit-list file (docs/edits.md) */
  const char* person;         /* NULL, or PHOTO[,PHOTO...]: edit only faces of this person     */
  const char* region;         /* NULL: "face"; else e.g. "eyes+mouth"                          */
  int others;                 /* 0 auto, 1 keep, 2 edit: faces that match no person            */
  double identity_threshold;  /* face-recognition distance that still is the person           */
  int keyframe_every;         /* networks every K-th frame of a face; 0: auto (on change)      */
  double keyframe_threshold;  /* keyframe_every 0: the aligned face's change for a keyframe    */
  int live;                   /* 1: frames out at once, edits refreshed in the background      */
  int reconstruct_at;         /* ReStyle warm-start reconstruction size; 0: the generator's   */
} mm_params;

/* A row of the settings table. */
typedef enum mm_setting_type {
  MM_SETTING_STRING = 0,      /* text (a name or a path)                                     */
  MM_SETTING_INT,             /* integer in [min, max]                                       */
  MM_SETTING_NUMBER,          /* real number in [min, max]                                   */
  MM_SETTING_BOOL,            /* 0 or 1                                                      */
  MM_SETTING_CHOICE,          /* one of choices; its mm_params field holds the index          */
  MM_SETTING_EXPRESSION       /* a number or an expression in t, n, pts (docs/strength.md)    */
} mm_setting_type;
enum { MM_FRONT_END_CLI = 1, MM_FRONT_END_FFMPEG = 2, MM_FRONT_END_OBS = 4 };
typedef struct mm_setting_info {
  const char* name;           /* snake_case: the mm_params field, the AVOption, the OBS property;
                                 the CLI option is --kebab-case                              */
  mm_setting_type type;
  const char* default_value;  /* as text ("0.06", "smile", "replace", "1"; "" for none)       */
  double min, max;            /* INT, NUMBER (and the constant of an EXPRESSION): the range   */
  const char* choices;        /* CHOICE: "all|largest", in the order of the field's values    */
  const char* help;           /* one line                                                    */
  const char* units;          /* "" when none                                                */
  unsigned front_ends;        /* MM_FRONT_END_* bits of the front ends that show it           */
  const char* note;           /* where the front ends differ, why (not shown, or shown otherwise) */
  int runtime;                /* may change while running                                    */
} mm_setting_info;

typedef struct mm_frame {
  uint8_t* data[4];           /* planes, in FFmpeg's order (Y U V A; nv12: Y, UV)        */
  ptrdiff_t stride[4];        /* bytes between rows of each plane                        */
  int width;
  int height;
  mm_pixel_format format;
  mm_color_matrix matrix;     /* YUV only */
  mm_color_range range;       /* YUV only */
  int64_t index;              /* frame number n */
  double time;                /* seconds t */
  int64_t pts;                /* caller's timestamp (pts in expressions; INT64_MIN: unknown), returned by mm_receive */
} mm_frame;

#define MM_REPORT_MAX_FACES 16
typedef struct mm_face_report {
  int track_id;               /* the same for one face over the frames it is tracked in */
  int x, y, width, height;    /* box of every sample written for this face (0 x 0: none) */
  int resolution;             /* the generator's output size of the edit shown          */
  char person[32];            /* the track's person ("" : none), NUL-terminated, cut at 31 bytes */
  int keyframe;               /* 1: the networks ran for this face in this frame        */
} mm_face_report;

typedef struct mm_report {
  int faces_found;            /* faces tracked in this frame                         */
  int faces_edited;
  int faces_reported;         /* entries of faces[]: min(faces_edited, MM_REPORT_MAX_FACES) */
  int keyframes;              /* faces the networks ran for (live: handed to them)   */
  mm_face_report faces[MM_REPORT_MAX_FACES];
  double seconds;             /* the engine's time for this frame                   */
  double strength;            /* the strength the frame got                          */
  int strength_non_finite;    /* 1: the expression was NaN or infinite here, strength 0 */
} mm_report;

/* The live keyframe path (params->live), for a status display. */
typedef struct mm_live_info {
  int64_t refreshes;          /* keyframe jobs finished                             */
  double network_seconds;     /* the newest job's time, hand-over to result          */
  double refresh_rate;        /* jobs per second, over the last few                  */
  int faces_with_edit;        /* tracked faces that have an edit to show             */
} mm_live_info;

int mm_setting_count(void);
const mm_setting_info* mm_setting_info_at(int index);
const mm_setting_info* mm_setting_find(const char* name);
mm_params mm_default_params(void);
const char* mm_version(void);
mm_context* mm_create(const mm_params* params, char* error, size_t error_size);
void mm_destroy(mm_context* ctx);
int mm_set_strength(mm_context* ctx, double strength);
int mm_set_strength_expr(mm_context* ctx, const char* expr);
int mm_edit_count(const mm_context* ctx);
const char* mm_edit_name(const mm_context* ctx, int edit);
int mm_set_edit_strength(mm_context* ctx, int edit, const char* expr);
int mm_live_status(const mm_context* ctx, mm_live_info* out);
int mm_check_strength_expr(const char* expr, char* error, size_t error_size);
int mm_set_frame_rate(mm_context* ctx, double fps);
int mm_process(mm_context* ctx, const mm_frame* in, mm_frame* out, mm_report* report);
int mm_submit(mm_context* ctx, const mm_frame* in);
int mm_receive(mm_context* ctx, mm_frame* out, int wait, mm_report* report);
int mm_flush(mm_context* ctx);
int mm_latency(const mm_context* ctx);
const char* mm_error(const mm_context* ctx);
size_t mm_plane_row_bytes(mm_pixel_format format, int width, int plane);
int mm_plane_rows(mm_pixel_format format, int height, int plane);
const char* mm_pixel_format_name(mm_pixel_format format);

#ifdef __cplusplus
}
#endif

#endif /* MICROMOTION_MICROMOTION_H */

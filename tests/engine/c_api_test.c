/* The C API used from C (compiled as C99: this file is also the check that the header is C). */
#include <micromotion/micromotion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/c_api_test.h"

#define REQUIRE(cond, ...)                       \
  do {                                           \
    if (!(cond)) {                               \
      snprintf(message, message_size, __VA_ARGS__); \
      goto done;                                 \
    }                                            \
  } while (0)

/* The n-th frame received from the async run: pts in submission order; the face frames (0, 2)
 * edited, never in alpha; the face-free frame (1) bit-exact. Returns 1, or 0 with message set. */
static int check_async_frame(const mm_frame* f, int n, const uint8_t* in, const uint8_t* noise, int width, int height,
                             ptrdiff_t stride, char* message, size_t message_size) {
  int x, y;
  long changed = 0;
  if (f->pts != 40 * n || f->index != n) {
    snprintf(message, message_size, "frame %d out of order (pts %lld, index %lld)", n, (long long)f->pts,
             (long long)f->index);
    return 0;
  }
  for (y = 0; y < height; ++y) {
    const uint8_t* o = f->data[0] + y * stride;
    const uint8_t* i = (n == 1 ? noise : in) + y * stride;
    if (n == 1 && memcmp(o, i, (size_t)width * 4) != 0) {
      snprintf(message, message_size, "async face-free frame: row %d changed", y);
      return 0;
    }
    for (x = 0; x < width; ++x) {
      if (o[4 * x + 3] != i[4 * x + 3]) {
        snprintf(message, message_size, "async frame %d: alpha changed at %d,%d", n, x, y);
        return 0;
      }
      changed += memcmp(o + 4 * x, i + 4 * x, 3) != 0;
    }
  }
  if (n != 1 && changed <= 1000) {
    snprintf(message, message_size, "async face frame %d: only %ld pixels changed", n, changed);
    return 0;
  }
  return 1;
}

int mm_c_api_check(const char* models_dir, const uint8_t* face_rgb, int width, int height, char* message,
                   size_t message_size) {
  int ok = 0;
  char error[512];
  mm_context* ctx = NULL;
  uint8_t *in = NULL, *out = NULL, *noise = NULL;
  const int pad = 12; /* rows wider than the pixels: stride must be honoured */
  const ptrdiff_t stride = (ptrdiff_t)width * 4 + pad;
  int x, y, got, received = 0;
  char why[256];
  mm_params p = mm_default_params();
  mm_frame fin, fout;

  message[0] = '\0';
  memset(&fin, 0, sizeof fin);
  REQUIRE(p.strength == 5.0 && p.queue_depth == 2 && p.mode == MM_MODE_REPLACE && p.feather == 0.06 &&
              p.detect_every == 10 && p.smooth == 1 && p.threads == 0, "unexpected defaults");

  /* An unknown micromotion: NULL and a message naming it. */
  p.models_dir = models_dir;
  p.anchor = "frown";
  ctx = mm_create(&p, error, sizeof error);
  REQUIRE(ctx == NULL, "mm_create accepted an unknown anchor");
  REQUIRE(strstr(error, "frown") != NULL, "error does not name the anchor: %s", error);
  /* A truncated error buffer is still a string. */
  ctx = mm_create(&p, error, 8);
  REQUIRE(ctx == NULL && strlen(error) == 7, "error not truncated to the buffer");

  /* Out-of-range fields are refused by name. */
  p.anchor = "smile";
  p.feather = 0.9;
  ctx = mm_create(&p, error, sizeof error);
  REQUIRE(ctx == NULL && strstr(error, "feather") != NULL, "feather 0.9 not refused by name: %s", error);
  p.feather = 0.06;
  p.detect_every = 0;
  ctx = mm_create(&p, error, sizeof error);
  REQUIRE(ctx == NULL && strstr(error, "detect_every") != NULL, "detect_every 0 not refused by name: %s", error);
  p.detect_every = 10;
  REQUIRE(strcmp(mm_version(), "") != 0, "empty version");

  p.iterations = 2;
  p.queue_depth = 1;
  ctx = mm_create(&p, error, sizeof error);
  REQUIRE(ctx != NULL, "mm_create failed: %s", error);
  REQUIRE(strcmp(mm_error(ctx), "") == 0, "fresh context has an error");
  REQUIRE(mm_set_frame_rate(ctx, 30.0) == 0, "mm_set_frame_rate failed: %s", mm_error(ctx));

  in = (uint8_t*)malloc((size_t)(stride * height));
  out = (uint8_t*)malloc((size_t)(stride * height));
  noise = (uint8_t*)malloc((size_t)(stride * height));
  REQUIRE(in && out && noise, "out of memory");
  srand(7);
  for (y = 0; y < height; ++y) {
    for (x = 0; x < width; ++x) {
      memcpy(in + y * stride + 4 * x, face_rgb + 3 * ((size_t)y * width + x), 3);
      in[y * stride + 4 * x + 3] = (uint8_t)(x + y);
      noise[y * stride + 4 * x + 0] = (uint8_t)(100 + rand() % 8);
      noise[y * stride + 4 * x + 1] = (uint8_t)(110 + rand() % 8);
      noise[y * stride + 4 * x + 2] = (uint8_t)(120 + rand() % 8);
      noise[y * stride + 4 * x + 3] = (uint8_t)(200 - x % 50);
    }
  }

  /* The face frame (first: the tracker searches whole frames at the start) changes in RGB, never in alpha. */
  fin.data[0] = in; fin.width = width; fin.height = height; fin.stride[0] = stride; fin.format = MM_PIXEL_RGBA;
  fin.index = 0; fin.time = 0; fin.pts = 1000;
  fout = fin;
  fout.data[0] = out;
  REQUIRE(mm_process(ctx, &fin, &fout, NULL) == 0, "mm_process failed: %s", mm_error(ctx));
  got = 0;
  for (y = 0; y < height; ++y)
    for (x = 0; x < width; ++x) {
      REQUIRE(out[y * stride + 4 * x + 3] == in[y * stride + 4 * x + 3], "alpha changed at %d,%d", x, y);
      got += memcmp(out + y * stride + 4 * x, in + y * stride + 4 * x, 3) != 0;
    }
  REQUIRE(got > 1000, "only %d face pixels changed", got);

  /* Synchronous: a face-free frame passes bit-exact, alpha included. */
  fin.data[0] = noise;
  REQUIRE(mm_process(ctx, &fin, &fout, NULL) == 0, "mm_process failed: %s", mm_error(ctx));
  for (y = 0; y < height; ++y)
    REQUIRE(memcmp(out + y * stride, noise + y * stride, (size_t)width * 4) == 0, "face-free row %d changed", y);
  REQUIRE(fout.pts == 1000, "pts not kept");

  /* A bad frame is an error with a message, not a crash. */
  fin.stride[0] = 3;
  REQUIRE(mm_process(ctx, &fin, &fout, NULL) == -1 && strstr(mm_error(ctx), "stride") != NULL, "bad stride accepted");
  fin.stride[0] = stride;

  /* Asynchronous: submit 3 frames (face, face-free, face), receive them in order. Whether a frame
   * is ready before mm_flush depends on timing, so frames received early (non-blocking polls while
   * submitting) and late (blocking, after mm_flush) get the same checks, and the count and order
   * are asserted only once mm_receive says all are delivered. */
  for (x = 0; x < 3; ++x) {
    fin.data[0] = x == 1 ? noise : in;
    fin.index = x;
    fin.pts = 40 * x;
    REQUIRE(mm_submit(ctx, &fin) == 0, "mm_submit failed: %s", mm_error(ctx));
    REQUIRE(mm_latency(ctx) == x + 1 - received, "latency %d with %d submitted and %d received", mm_latency(ctx),
            x + 1, received);
    while ((got = mm_receive(ctx, &fout, 0, NULL)) == 1) {
      REQUIRE(check_async_frame(&fout, received, in, noise, width, height, stride, why, sizeof why), "%s",
              why);
      ++received;
    }
    REQUIRE(got == 0, "mm_receive failed: %s", mm_error(ctx));
  }
  REQUIRE(mm_flush(ctx) == 0, "mm_flush failed");
  while ((got = mm_receive(ctx, &fout, 1, NULL)) == 1) {
    REQUIRE(received < 3, "more frames received than submitted");
    REQUIRE(check_async_frame(&fout, received, in, noise, width, height, stride, why, sizeof why), "%s",
            why);
    ++received;
  }
  REQUIRE(got == 0 && received == 3, "received %d frames (last status %d: %s)", received, got, mm_error(ctx));
  REQUIRE(mm_latency(ctx) == 0, "latency after flush is %d", mm_latency(ctx));
  ok = 1;
done:
  mm_destroy(ctx);
  mm_destroy(NULL);
  free(in);
  free(out);
  free(noise);
  return ok;
}

#include "av_native_frame.h"

extern "C" {
#include <libavcodec/avcodec.h>
}

#include <micromotion/error.h>

#include <iterator>

namespace micromotion::cli {

namespace {

struct Native {
  AVPixelFormat av;
  PixelFormat mm;
};
constexpr Native kNative[] = {
    {AV_PIX_FMT_RGB24, PixelFormat::rgb24},         {AV_PIX_FMT_BGR24, PixelFormat::bgr24},
    {AV_PIX_FMT_RGBA, PixelFormat::rgba},           {AV_PIX_FMT_BGRA, PixelFormat::bgra},
    {AV_PIX_FMT_ARGB, PixelFormat::argb},           {AV_PIX_FMT_ABGR, PixelFormat::abgr},
    {AV_PIX_FMT_RGB0, PixelFormat::rgb0},           {AV_PIX_FMT_BGR0, PixelFormat::bgr0},
    {AV_PIX_FMT_GRAY8, PixelFormat::gray},          {AV_PIX_FMT_YUV420P, PixelFormat::yuv420p},
    {AV_PIX_FMT_YUV422P, PixelFormat::yuv422p},     {AV_PIX_FMT_YUV444P, PixelFormat::yuv444p},
    {AV_PIX_FMT_YUVJ420P, PixelFormat::yuv420p},    {AV_PIX_FMT_YUVJ422P, PixelFormat::yuv422p},
    {AV_PIX_FMT_YUVJ444P, PixelFormat::yuv444p},    {AV_PIX_FMT_YUVA420P, PixelFormat::yuva420p},
    {AV_PIX_FMT_NV12, PixelFormat::nv12},           {AV_PIX_FMT_NV21, PixelFormat::nv21},
    {AV_PIX_FMT_YUV420P10LE, PixelFormat::yuv420p10}, {AV_PIX_FMT_YUV422P10LE, PixelFormat::yuv422p10},
    {AV_PIX_FMT_YUV444P10LE, PixelFormat::yuv444p10}, {AV_PIX_FMT_P010LE, PixelFormat::p010},
    {AV_PIX_FMT_YUYV422, PixelFormat::yuyv422},     {AV_PIX_FMT_UYVY422, PixelFormat::uyvy422},
    {AV_PIX_FMT_YVYU422, PixelFormat::yvyu422},
};

bool full_range_format(int f) {
  return f == AV_PIX_FMT_YUVJ420P || f == AV_PIX_FMT_YUVJ422P || f == AV_PIX_FMT_YUVJ444P;
}

}  // namespace

std::optional<PixelFormat> native_format(AVPixelFormat f) {
  for (const Native& n : kNative)
    if (n.av == f) return n.mm;
  return std::nullopt;
}

AVPixelFormat edit_format(AVPixelFormat f) {
  if (native_format(f)) return f;
  // libavcodec's choice among the native formats: the least loss of depth, chroma and alpha.
  AVPixelFormat list[std::size(kNative) + 1];
  int n = 0;
  for (const Native& k : kNative)
    if (!full_range_format(k.av)) list[n++] = k.av;
  list[n] = AV_PIX_FMT_NONE;
  return avcodec_find_best_pix_fmt_of_list(list, f, 1, nullptr);
}

NativeFrame native_view(AVFrame* frame, int rotation) {
  const std::optional<PixelFormat> format = native_format(AVPixelFormat(frame->format));
  if (!format) throw Error("internal: the engine does not edit frames in this pixel format");
  NativeFrame v;
  for (int p = 0; p < 4; ++p) {
    v.data[static_cast<size_t>(p)] = frame->data[p];
    v.stride[static_cast<size_t>(p)] = frame->linesize[p];
  }
  v.width = frame->width;
  v.height = frame->height;
  v.format = *format;
  v.matrix = frame->colorspace == AVCOL_SPC_BT709 ? ColorMatrix::bt709
             : frame->colorspace == AVCOL_SPC_BT2020_NCL || frame->colorspace == AVCOL_SPC_BT2020_CL
                 ? ColorMatrix::bt2020
                 : ColorMatrix::bt601;
  v.range = frame->color_range == AVCOL_RANGE_JPEG || full_range_format(frame->format) ? ColorRange::full
                                                                                       : ColorRange::limited;
  v.rotation = rotation;
  return v;
}

}  // namespace micromotion::cli

#include "io/zip_directory.h"

#include <micromotion/error.h>
#include <micromotion/value.h>

#include <algorithm>
#include <cstring>

namespace micromotion::io {

namespace {

uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t le32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}
uint64_t le64(const uint8_t* p) { return uint64_t(le32(p)) | (uint64_t(le32(p + 4)) << 32); }

constexpr uint32_t kEocd = 0x06054b50, kEocd64 = 0x06064b50, kEocd64Locator = 0x07064b50,
                   kCentral = 0x02014b50, kLocal = 0x04034b50;
constexpr size_t kMaxEntries = 1u << 20;

}  // namespace

std::vector<ZipEntry> scan_zip_directory(const caffe2::serialize::ReadAdapterInterface& in,
                                         const std::string& name) {
  auto fail = [&](const std::string& what) -> void {
    throw Error(name + ": " + what + " (not a valid PyTorch checkpoint archive)");
  };
  const uint64_t file_size = in.size();
  auto read = [&](uint64_t pos, void* buf, size_t n) {
    if (pos > file_size || n > file_size - pos) fail("truncated archive");
    if (in.read(pos, buf, n, "zip directory") != n) fail("short read");
  };
  if (file_size < 22) fail("file too small to be a zip archive");

  // The end-of-central-directory record sits in the last 22 + 65535 bytes.
  const uint64_t tail_len = std::min<uint64_t>(file_size, 22 + 65535);
  std::vector<uint8_t> tail(tail_len);
  read(file_size - tail_len, tail.data(), tail_len);
  int64_t eocd = -1;
  for (int64_t i = static_cast<int64_t>(tail_len) - 22; i >= 0; --i)
    if (le32(&tail[i]) == kEocd) {
      eocd = i;
      break;
    }
  if (eocd < 0) fail("no end-of-central-directory record");
  const uint64_t eocd_pos = file_size - tail_len + static_cast<uint64_t>(eocd);
  uint64_t count = le16(&tail[eocd + 10]);
  uint64_t cd_size = le32(&tail[eocd + 12]);
  uint64_t cd_offset = le32(&tail[eocd + 16]);

  // Zip64: the locator sits just before the classic record.
  if (eocd_pos >= 20) {
    uint8_t loc[20];
    read(eocd_pos - 20, loc, 20);
    if (le32(loc) == kEocd64Locator) {
      uint64_t rec_pos = le64(loc + 8);
      uint8_t rec[56];
      read(rec_pos, rec, 56);
      if (le32(rec) != kEocd64) fail("bad zip64 end-of-central-directory record");
      count = le64(rec + 32);
      cd_size = le64(rec + 40);
      cd_offset = le64(rec + 48);
    }
  }
  if (count > kMaxEntries) fail("too many entries");
  if (cd_offset > file_size || cd_size > file_size - cd_offset) fail("central directory outside the file");
  if (count * 46 > cd_size) fail("central directory too small for its entry count");

  std::vector<uint8_t> cd(cd_size);
  read(cd_offset, cd.data(), cd_size);
  std::vector<ZipEntry> entries;
  entries.reserve(count);
  size_t p = 0;
  for (uint64_t i = 0; i < count; ++i) {
    if (cd_size - p < 46 || le32(&cd[p]) != kCentral) fail("corrupt central directory entry");
    const uint16_t method = le16(&cd[p + 10]);
    uint64_t comp = le32(&cd[p + 20]);
    uint64_t uncomp = le32(&cd[p + 24]);
    const uint16_t name_len = le16(&cd[p + 28]);
    const uint16_t extra_len = le16(&cd[p + 30]);
    const uint16_t comment_len = le16(&cd[p + 32]);
    uint64_t local = le32(&cd[p + 42]);
    const size_t var_len = size_t(name_len) + extra_len + comment_len;
    if (cd_size - p - 46 < var_len) fail("corrupt central directory entry");
    ZipEntry e;
    e.name.assign(reinterpret_cast<const char*>(&cd[p + 46]), name_len);
    // Zip64 extra field: the 64-bit values replace the saturated 32-bit ones, in order.
    const uint8_t* extra = &cd[p + 46 + name_len];
    for (size_t x = 0; x + 4 <= extra_len;) {
      const uint16_t id = le16(extra + x), len = le16(extra + x + 2);
      if (x + 4 + len > extra_len) fail("corrupt zip extra field");
      if (id == 0x0001) {
        size_t q = x + 4;
        auto take = [&](uint64_t& field) {
          if (field != 0xffffffffu) return;
          if (q + 8 > x + 4 + len) fail("corrupt zip64 extra field");
          field = le64(extra + q);
          q += 8;
        };
        take(uncomp);
        take(comp);
        take(local);
      }
      x += 4 + len;
    }
    const std::string shown = quoted_for_message(e.name, 80);
    if (method != 0)
      fail("entry " + shown + " is compressed (method " + std::to_string(method) +
           "); torch.save stores entries uncompressed");
    if (comp != uncomp) fail("entry " + shown + " has inconsistent sizes");
    if (local > file_size || uncomp > file_size - local) fail("entry " + shown + " extends past the end of the file");
    uint8_t lh[30];
    read(local, lh, 30);
    if (le32(lh) != kLocal) fail("entry " + shown + " has no local header");
    const uint64_t data_pos = local + 30 + le16(lh + 26) + le16(lh + 28);
    if (data_pos > file_size || uncomp > file_size - data_pos)
      fail("entry " + shown + " extends past the end of the file");
    e.size = uncomp;
    e.header_offset = local;
    entries.push_back(std::move(e));
    p += 46 + var_len;
  }
  return entries;
}

}  // namespace micromotion::io

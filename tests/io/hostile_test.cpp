// Corrupt and hostile files are refused with a clear message, never a crash (this suite
// also runs under AddressSanitizer + UndefinedBehaviorSanitizer in CI).
#include "io/pickle_builder.h"
#include "test_support.h"

#include <micromotion/checkpoint.h>
#include <micromotion/error.h>
#include <micromotion/npy.h>

#include <random>

using micromotion::Value;

namespace {

// Loads bytes and returns the error message ("" when it loaded).
std::string load_error(const std::string& bytes) {
  try {
    micromotion::load_checkpoint_from_memory(bytes.data(), bytes.size(), "hostile.pt");
    return "";
  } catch (const micromotion::Error& e) {
    return e.what();
  }
}

std::string archive(const std::string& name, const std::string& pkl,
                    const std::vector<std::pair<std::string, std::string>>& records = {}) {
  auto dir = mmtest::temp_dir("hostile_" + name);
  const std::string path = (dir / "x.pt").string();
  mmtest::write_archive(path, pkl, records);
  return mmtest::read_file(path);
}

#define EXPECT_ERROR_HAS(bytes, needle)                                                   \
  do {                                                                                    \
    const std::string msg_ = load_error(bytes);                                           \
    EXPECT_NE(msg_.find(needle), std::string::npos) << "message was: '" << msg_ << "'"; \
  } while (0)

const std::string& generator_bytes() {
  static const std::string b = mmtest::read_file(mmtest::fixture("stylegan2/g64/generator.pt"));
  return b;
}

TEST(Hostile, TruncatedArchives) {
  const std::string& full = generator_bytes();
  for (size_t keep : {size_t(0), size_t(3), size_t(100), full.size() / 3, full.size() / 2, full.size() - 23,
                      full.size() - 1}) {
    const std::string msg = load_error(full.substr(0, keep));
    EXPECT_FALSE(msg.empty()) << "truncated to " << keep << " bytes loaded";
    EXPECT_EQ(msg.rfind("hostile.pt: ", 0), 0u) << msg;
  }
}

TEST(Hostile, BitFlipsNeverCrash) {
  const std::string& full = generator_bytes();
  std::mt19937 rng(20221);
  int refused = 0;
  for (int trial = 0; trial < 300; ++trial) {
    std::string b = full;
    const int flips = 1 + trial % 4;
    for (int i = 0; i < flips; ++i) b[rng() % b.size()] ^= static_cast<char>(1u << (rng() % 8));
    // Either a clean load (a flip inside tensor data) or a micromotion::Error.
    try {
      micromotion::load_checkpoint_from_memory(b.data(), b.size(), "flipped.pt");
    } catch (const micromotion::Error&) {
      ++refused;
    }
  }
  EXPECT_GT(refused, 0);
}

TEST(Hostile, PickleOnlyFlipsNeverCrash) {
  // Flips inside data.pkl only: every one exercises the interpreter.
  mmtest::PickleBuilder p;
  p.op('}').mark();
  p.str("a").tensor("0", 6, 0, {2, 3}, {3, 1});
  p.str("b").mark().integer(1).str("x").op('l');
  p.op('u').stop();
  const std::string pkl = p.bytes();
  std::mt19937 rng(7);
  for (int trial = 0; trial < 300; ++trial) {
    std::string q = pkl;
    q[2 + rng() % (q.size() - 2)] = static_cast<char>(rng() & 0xff);
    std::string bytes = archive("pkflip", q, {{"data/0", mmtest::float_bytes({1, 2, 3, 4, 5, 6})}});
    (void)load_error(bytes);  // must return, with or without an error
  }
}

TEST(Hostile, UnknownGlobalIsNamed) {
  mmtest::PickleBuilder p;
  p.global("os", "system").str("echo pwned").op('\x85').op('R').stop();
  EXPECT_ERROR_HAS(archive("global", p.bytes()), "refusing global 'os.system'");
}

TEST(Hostile, AllowedGlobalCannotBeCalledWithJunk) {
  mmtest::PickleBuilder p;
  p.global("torch._utils", "_rebuild_tensor_v2").integer(1).op('\x85').op('R').stop();
  EXPECT_ERROR_HAS(archive("junkcall", p.bytes()), "_rebuild_tensor_v2");
}

TEST(Hostile, UnsupportedOpcodeIsNamed) {
  mmtest::PickleBuilder p;
  p.raw("i__builtin__\nobject\n").stop();
  EXPECT_ERROR_HAS(archive("opcode", p.bytes()), "unsupported pickle opcode 0x69 (INST)");
}

TEST(Hostile, HugeDeclaredStorageIsRefusedWithoutAllocating) {
  mmtest::PickleBuilder p;
  p.tensor("0", 2000000000, 0, {2000000000}, {1}).stop();
  EXPECT_ERROR_HAS(archive("huge", p.bytes(), {{"data/0", mmtest::float_bytes({1, 2})}}),
                   "declares 2000000000 elements of 4 bytes but holds 8 bytes");
}

TEST(Hostile, TensorLargerThanItsStorage) {
  mmtest::PickleBuilder p;
  p.tensor("0", 4, 0, {2, 3}, {3, 1}).stop();
  EXPECT_ERROR_HAS(archive("extent", p.bytes(), {{"data/0", mmtest::float_bytes({1, 2, 3, 4})}}),
                   "reaches element 5 of a storage holding 4");
}

TEST(Hostile, OverflowingSizes) {
  mmtest::PickleBuilder p;
  p.tensor("0", 4, 0, {65536, 65536, 65536, 65536}, {1, 1, 1, 1}).stop();
  EXPECT_ERROR_HAS(archive("overflow", p.bytes(), {{"data/0", mmtest::float_bytes({1, 2, 3, 4})}}), "overflows");
}

TEST(Hostile, NegativeOffset) {
  mmtest::PickleBuilder p;
  p.tensor("0", 4, -1, {2}, {1}).stop();
  EXPECT_ERROR_HAS(archive("negoff", p.bytes(), {{"data/0", mmtest::float_bytes({1, 2, 3, 4})}}),
                   "outside its storage");
}

TEST(Hostile, MissingStorageRecord) {
  mmtest::PickleBuilder p;
  p.tensor("7", 4, 0, {4}, {1}).stop();
  EXPECT_ERROR_HAS(archive("missing", p.bytes()), "storage record 'data/7' is missing");
}

TEST(Hostile, StorageKeyCannotEscape) {
  mmtest::PickleBuilder p;
  p.tensor("../data", 4, 0, {4}, {1}).stop();
  EXPECT_ERROR_HAS(archive("key", p.bytes()), "invalid storage key");
}

TEST(Hostile, UnknownStorageType) {
  mmtest::PickleBuilder p;
  p.tensor("0", 4, 0, {4}, {1}, "QuantumStorage").stop();
  EXPECT_ERROR_HAS(archive("stype", p.bytes(), {{"data/0", mmtest::float_bytes({1, 2, 3, 4})}}),
                   "refusing global 'torch.QuantumStorage'");
}

TEST(Hostile, DeepNesting) {
  mmtest::PickleBuilder p;
  for (int i = 0; i < 100; ++i) p.op(']');
  for (int i = 0; i < 99; ++i) p.op('a');
  p.stop();
  EXPECT_ERROR_HAS(archive("deep", p.bytes()), "nested deeper than 64");
}

TEST(Hostile, DeepChainBuiltThroughTheMemo) {
  // Built top-down through memo references, so no single insertion looks deep.
  mmtest::PickleBuilder p;
  p.op(']').op('q').raw(std::string(1, '\0')).op('0');
  for (int i = 1; i < 200000; ++i) {
    p.op(']').op('r').u32(static_cast<uint32_t>(i));                      // new list, memo i
    p.op('j').u32(static_cast<uint32_t>(i - 1)).op('j').u32(static_cast<uint32_t>(i)).op('a').op('0');  // memo[i-1].append(memo[i])
    p.op('0');
  }
  p.op('h').raw(std::string(1, '\0')).stop();
  EXPECT_ERROR_HAS(archive("chain", p.bytes()), "nested deeper than 64");
}

TEST(Hostile, SelfContainingList) {
  mmtest::PickleBuilder p;
  p.op(']').op('q').raw(std::string(1, '\0')).op('h').raw(std::string(1, '\0')).op('a').stop();
  EXPECT_ERROR_HAS(archive("cycle", p.bytes()), "includes itself");
}

TEST(Hostile, MemoReadBeforeWrite) {
  mmtest::PickleBuilder p;
  p.op('h').raw(std::string(1, '\x05')).stop();
  EXPECT_ERROR_HAS(archive("memo", p.bytes()), "memo entry 5 read before it was written");
}

TEST(Hostile, StackUnderflow) {
  mmtest::PickleBuilder p;
  p.op('s').stop();
  EXPECT_ERROR_HAS(archive("underflow", p.bytes()), "stack underflow");
}

TEST(Hostile, NoStopOpcode) {
  mmtest::PickleBuilder p;
  p.op('N');
  EXPECT_ERROR_HAS(archive("nostop", p.bytes()), "truncated pickle");
}

TEST(Hostile, LegacyFormatSaysHowToResave) {
  const std::string legacy = std::string("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 15);
  EXPECT_ERROR_HAS(legacy, "re-save it with torch >= 1.6");
}

TEST(Hostile, NotAnArchive) {
  EXPECT_ERROR_HAS(std::string("hello, this is plain text and no model at all"), "not a PyTorch checkpoint");
  EXPECT_ERROR_HAS(std::string(), "not a PyTorch checkpoint");
}

TEST(Hostile, CompressedEntryRefused) {
  std::string b = generator_bytes();
  const size_t cd = b.find("PK\x01\x02");
  ASSERT_NE(cd, std::string::npos);
  b[cd + 10] = 8;  // compression method: deflate
  EXPECT_ERROR_HAS(b, "is compressed (method 8)");
}

TEST(Hostile, EntrySizeBeyondFile) {
  std::string b = generator_bytes();
  const size_t cd = b.find("PK\x01\x02");
  ASSERT_NE(cd, std::string::npos);
  for (int i = 0; i < 4; ++i) b[cd + 20 + i] = b[cd + 24 + i] = '\x7f';  // ~2 GB sizes
  EXPECT_ERROR_HAS(b, "extends past the end of the file");
}

TEST(HostileNpy, RefusedWithReasons) {
  auto err = [](const std::string& bytes) {
    try {
      micromotion::read_npy_from_memory(bytes.data(), bytes.size(), "x.npy");
      return std::string();
    } catch (const micromotion::Error& e) {
      return std::string(e.what());
    }
  };
  auto npy = [](const std::string& header, size_t data_bytes) {
    std::string h = header;
    h.append((64 - (10 + h.size() + 1) % 64) % 64, ' ');
    h += '\n';
    std::string out("\x93NUMPY\x01\x00", 8);
    out += static_cast<char>(h.size() & 0xff);
    out += static_cast<char>(h.size() >> 8);
    return out + h + std::string(data_bytes, '\0');
  };
  EXPECT_NE(err("not numpy").find("bad magic"), std::string::npos);
  EXPECT_NE(err(npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8)).find("unsupported .npy dtype"),
            std::string::npos);
  EXPECT_NE(err(npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16)).find("Fortran"),
            std::string::npos);
  EXPECT_NE(err(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 20)).find("the shape needs 24"),
            std::string::npos);
  EXPECT_NE(err(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4), }", 0))
                .find("overflows"),
            std::string::npos);
  EXPECT_NE(err(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }", 0)).find("bad dimension"),
            std::string::npos);
  EXPECT_NE(err(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8).substr(0, 40)).find("truncated"),
            std::string::npos);
}

}  // namespace

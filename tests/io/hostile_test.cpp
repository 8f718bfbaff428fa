// Corrupt and hostile files are refused with a clear message, never a crash (this suite
// also runs under AddressSanitizer + UndefinedBehaviorSanitizer in CI).
#include "io/bounds.h"
#include "io/pickle_builder.h"
#include "test_support.h"

#include <micromotion/checkpoint.h>
#include <micromotion/error.h>
#include <micromotion/npy.h>
#include <micromotion/safetensors.h>

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

// ---- issue 12: each crafted file is refused (or loaded) within the time and memory bounds.

// Loads bytes as a checkpoint on a 256 KB-stack thread, touching every byte of every
// tensor's storage (so a storage larger than what was read is seen), and applies the
// walkers a caller would: tensors_of and repr.
mmtest::Bounded bounded_load(const std::string& bytes) {
  return mmtest::run_bounded([&] {
    Value v = micromotion::load_checkpoint_from_memory(bytes.data(), bytes.size(), "hostile.pt");
    volatile uint64_t sum = 0;
    (void)v.repr(3);
    if (v.is(Value::Kind::Tensor)) {
      const auto& st = v.as_tensor().storage();
      const auto* p = static_cast<const uint8_t*>(st.data_ptr().get());
      for (size_t i = 0; i < st.nbytes(); ++i) sum = sum + p[i];
    }
    if (v.is(Value::Kind::Dict)) {
      for (const auto& [name, t] : micromotion::tensors_of(v)) {
        const auto* p = static_cast<const uint8_t*>(t.storage().data_ptr().get());
        for (size_t i = 0; i < t.storage().nbytes(); ++i) sum = sum + p[i];
      }
    }
  });
}

std::string version_record() { return "3\n"; }

// A storage "0" of `numel` floats.
std::string tensor_pickle(int32_t numel) {
  mmtest::PickleBuilder p;
  p.tensor("0", numel, 0, {numel}, {1}).stop();
  return p.bytes();
}

TEST(HostileArchive, TwoFoldersAreRefused) {
  // LibTorch reads a/ (the first entry's folder) while 31d6ff2 checked sizes in b/ (the
  // last data.pkl): a 1024-float storage was served from a 16-byte record (heap bytes
  // printed by inspect, or a segfault for a large declaration).
  const std::string bytes = mmtest::zip_archive({{"a/data.pkl", tensor_pickle(1024)},
                                                 {"a/version", version_record()},
                                                 {"a/data/0", std::string(16, '\1')},
                                                 {"b/data.pkl", tensor_pickle(1024)},
                                                 {"b/data/0", std::string(4096, '\1')}});
  EXPECT_BOUNDED(bounded_load(bytes), bytes.size(),
                 "hostile.pt: archive has 2 data.pkl records; a torch.save checkpoint has exactly one");
}

TEST(HostileArchive, HandMadeArchiveLoads) {
  // The writer above makes archives LibTorch reads: the refusals below are about names.
  const std::string bytes = mmtest::zip_archive({{"a/data.pkl", tensor_pickle(4)},
                                                 {"a/version", version_record()},
                                                 {"a/data/0", mmtest::float_bytes({1, 2, 3, 4})}});
  Value v = micromotion::load_checkpoint_from_memory(bytes.data(), bytes.size(), "ok.pt");
  ASSERT_TRUE(v.is(Value::Kind::Tensor));
  EXPECT_EQ(v.as_tensor().sum().item<float>(), 10.f);
}

TEST(HostileArchive, DuplicateAndCaseCollidingNamesAreRefused) {
  const std::string dup = mmtest::zip_archive({{"a/data.pkl", tensor_pickle(4)},
                                               {"a/version", version_record()},
                                               {"a/data/0", std::string(16, '\1')},
                                               {"a/data/0", std::string(4096, '\1')}});
  EXPECT_BOUNDED(bounded_load(dup), dup.size(), "hostile.pt: the archive has two entries named 'a/data/0'");
  // miniz finds names case-insensitively: a/data/X and a/data/x could be either record.
  const std::string folded = mmtest::zip_archive({{"a/data.pkl", tensor_pickle(4)},
                                                  {"a/version", version_record()},
                                                  {"a/data/x", std::string(16, '\1')},
                                                  {"a/data/X", std::string(4096, '\1')}});
  EXPECT_BOUNDED(bounded_load(folded), folded.size(), "entries 'a/data/x' and 'a/data/X' differ only in case");
  const std::string pkls = mmtest::zip_archive({{"a/data.pkl", tensor_pickle(4)},
                                                {"a/version", version_record()},
                                                {"a/DATA.PKL", tensor_pickle(4)}});
  EXPECT_BOUNDED(bounded_load(pkls), pkls.size(), "differ only in case");
}

TEST(HostileArchive, StorageCheckedAgainstTheRecordRead) {
  const std::string bytes = mmtest::zip_archive({{"a/data.pkl", tensor_pickle(1024)},
                                                 {"a/version", version_record()},
                                                 {"a/data/0", std::string(16, '\1')}});
  EXPECT_BOUNDED(bounded_load(bytes), bytes.size(),
                 "storage 'data/0' declares 1024 elements of 4 bytes but holds 16 bytes");
}

// A pickle of `n` nested tuples: ()  then TUPLE1 n times.
std::string nested_tuples(size_t n, bool pop) {
  mmtest::PickleBuilder p;
  p.op(')');
  p.raw(std::string(n, '\x85'));
  if (pop) p.op('0').op('N');
  return p.stop().bytes();
}

TEST(HostileDepth, MillionNestedTuplesPoppedAreRefusedWithoutRecursion) {
  // 1 MB: 31d6ff2 freed the popped chain recursively and overflowed the stack.
  const std::string bytes = archive("popped", nested_tuples(1 << 20, true));
  EXPECT_BOUNDED(bounded_load(bytes), bytes.size(), "builds more data than its 1048582 bytes can justify");
}

TEST(HostileDepth, NestedTuplesPoppedAreFreedIteratively) {
  // Within the budget: loads (the result is None) and the 200 000-deep chain nobody
  // references is taken apart without recursion, on a 256 KB stack.
  const std::string bytes = archive("popped2", nested_tuples(200000, true));
  EXPECT_BOUNDED(bounded_load(bytes), bytes.size(), "");
  // Kept as the result, the same chain is refused for its depth.
  const std::string kept = archive("kept", nested_tuples(200000, false));
  EXPECT_BOUNDED(bounded_load(kept), kept.size(), "nested deeper than 64");
}

TEST(HostileDepth, RawTuplesHoldingAGlobalAreBounded) {
  // Tuples holding a class reference are not ordinary values (never tracked for
  // dismantling): a million of them nested were freed recursively.
  mmtest::PickleBuilder p;
  p.global("torch", "FloatStorage");
  p.raw(std::string(1 << 20, '\x85'));
  p.stop();
  const std::string bytes = archive("raw", p.bytes());
  EXPECT_BOUNDED(bounded_load(bytes), bytes.size(), "tuples holding class references nested deeper than 64");
}

TEST(HostileDepth, DeepChainFreedOnAThreadWithASmallStack) {
  // The memo-built chain of DeepChainBuiltThroughTheMemo, on a 256 KB stack.
  mmtest::PickleBuilder p;
  p.op(']').op('q').raw(std::string(1, '\0')).op('0');
  for (int i = 1; i < 100000; ++i) {
    p.op(']').op('r').u32(static_cast<uint32_t>(i));
    p.op('j').u32(static_cast<uint32_t>(i - 1)).op('j').u32(static_cast<uint32_t>(i)).op('a').op('0');
    p.op('0');
  }
  p.op('N').stop();
  const std::string bytes = archive("chain2", p.bytes());
  EXPECT_BOUNDED(bounded_load(bytes), bytes.size(), "");
}

TEST(HostileShared, DictsReferencingThePreviousTwiceAreVisitedOnce) {
  // 60 dicts, each {'a': previous, 'b': previous}: 1.5 KB, 2^60 paths.
  mmtest::PickleBuilder p;
  p.op('}').op('q').raw(std::string(1, '\0')).op('0');
  for (int i = 1; i < 60; ++i) {
    p.op('}').op('q').raw(std::string(1, static_cast<char>(i)));
    p.mark().str("a").op('h').raw(std::string(1, static_cast<char>(i - 1)));
    p.str("b").op('h').raw(std::string(1, static_cast<char>(i - 1))).op('u').op('0');
  }
  p.op('h').raw(std::string(1, '\x3b')).stop();
  const std::string bytes = archive("shared", p.bytes());
  ASSERT_LT(p.bytes().size(), 1600u);
  // check_structure and repr are fine with sharing; tensors_of refuses it.
  EXPECT_BOUNDED(bounded_load(bytes), bytes.size(),
                 "is also reached through another key (shared sub-dicts are not supported)");
  const auto r = mmtest::run_bounded([&] {
    Value v = micromotion::load_checkpoint_from_memory(bytes.data(), bytes.size(), "shared.pt");
    EXPECT_EQ(v.repr(4).substr(0, 12), "{'a': {'a': ");
  });
  EXPECT_BOUNDED(r, bytes.size(), "");
}

// A memoised list of `pairs` (k, None) pairs, then `calls` OrderedDict(list) calls.
std::string ordered_dict_reuse(int pairs, int calls) {
  mmtest::PickleBuilder p;
  p.global("collections", "OrderedDict").op('q').raw(std::string(1, '\0')).op('0');
  p.op(']').op('q').raw(std::string(1, '\1')).mark();
  for (int i = 0; i < pairs; ++i) p.op('M').raw(std::string{static_cast<char>(i & 0xff), static_cast<char>(i >> 8)}).op('N').op('\x86');
  p.op('e').op('0');
  for (int i = 0; i < calls; ++i) p.op('h').raw(std::string(1, '\0')).op('h').raw(std::string(1, '\1')).op('\x85').op('R').op('0');
  return p.op('N').stop().bytes();
}

// A memoised dict of `entries` entries, then `calls` BUILDs of an argparse.Namespace with it.
std::string namespace_build_reuse(int entries, int calls) {
  mmtest::PickleBuilder p;
  p.global("argparse", "Namespace").op('q').raw(std::string(1, '\0')).op('0');
  p.op('}').op('q').raw(std::string(1, '\1')).mark();
  for (int i = 0; i < entries; ++i) p.op('M').raw(std::string{static_cast<char>(i & 0xff), static_cast<char>(i >> 8)}).op('N');
  p.op('u').op('0');
  for (int i = 0; i < calls; ++i)
    p.op('h').raw(std::string(1, '\0')).op(')').op('\x81').op('h').raw(std::string(1, '\1')).op('b').op('0');
  return p.op('N').stop().bytes();
}

TEST(HostileMemory, ReusedListInOrderedDictCallsIsBudgeted) {
  // 11 KB cost 185 MB and 22 KB 750 MB on 31d6ff2 (each call copied the whole list).
  for (int n : {1000, 2000}) {
    const std::string pkl = ordered_dict_reuse(n, n);
    const std::string bytes = archive("odict", pkl);
    EXPECT_GT(pkl.size(), size_t(n) * 11 - 100);
    EXPECT_BOUNDED(bounded_load(bytes), bytes.size(), "builds more data than its");
  }
  // Reuse on the scale of a real file is fine.
  const std::string small = archive("odict_ok", ordered_dict_reuse(100, 100));
  EXPECT_BOUNDED(bounded_load(small), small.size(), "");
}

TEST(HostileMemory, ReusedStateInBuildCallsIsBudgeted) {
  for (int n : {1000, 2000}) {
    const std::string bytes = archive("build", namespace_build_reuse(n, n));
    EXPECT_BOUNDED(bounded_load(bytes), bytes.size(), "builds more data than its");
  }
}

TEST(HostileMemory, RealCheckpointIsWellInsideTheBudget) {
  const std::string& full = generator_bytes();
  EXPECT_BOUNDED(bounded_load(full), full.size(), "");
}

// ---- safetensors

std::string safetensors_bytes(const std::string& header, const std::string& data) {
  std::string h = header;
  h.append((8 - h.size() % 8) % 8, ' ');
  std::string out;
  for (int i = 0; i < 8; ++i) out += static_cast<char>((uint64_t(h.size()) >> (8 * i)) & 0xff);
  return out + h + data;
}

mmtest::Bounded bounded_safetensors(const std::string& bytes) {
  return mmtest::run_bounded([&] {
    auto st = micromotion::read_safetensors_from_memory(bytes.data(), bytes.size(), "hostile.safetensors");
    for (const auto& [k, t] : st.tensors) (void)t.sum();
  });
}

TEST(HostileSafetensors, HeaderOverOneMegabyteIsRefused) {
  // 10 MB of nested arrays: 390 MB on 31d6ff2.
  const std::string big = safetensors_bytes(std::string(5 << 20, '[') + std::string(5 << 20, ']'), "");
  EXPECT_BOUNDED(bounded_safetensors(big), big.size(), "its header length field is over the 1 MB limit");
  // Just under 1 MB: refused for its depth before parsing.
  const std::string deep = safetensors_bytes(std::string(500000, '[') + std::string(500000, ']'), "");
  EXPECT_BOUNDED(bounded_safetensors(deep), deep.size(), "safetensors header nests JSON deeper than 8 levels");
  // Brackets inside strings do not count.
  const std::string quoted = safetensors_bytes(
      "{\"__metadata__\": {\"x\": \"" + std::string(1000, '[') + "\"}}", "");
  EXPECT_BOUNDED(bounded_safetensors(quoted), quoted.size(), "");
}

TEST(HostileSafetensors, ZeroInAShapeGoesThroughTheOverflowCheck) {
  // LibTorch threw its own c10::Error computing the strides (fuzz_safetensors aborted).
  std::string shape = "0";
  for (int i = 0; i < 15; ++i) shape += ", 2147483647";
  const std::string bytes =
      safetensors_bytes("{\"x\": {\"dtype\": \"F32\", \"shape\": [" + shape + "], \"data_offsets\": [0, 0]}}", "");
  EXPECT_BOUNDED(bounded_safetensors(bytes), bytes.size(), "hostile.safetensors: tensor 'x' has a shape whose size overflows");
  // A plain empty tensor is fine.
  const std::string empty =
      safetensors_bytes("{\"x\": {\"dtype\": \"F32\", \"shape\": [0, 512], \"data_offsets\": [0, 0]}}", "");
  EXPECT_BOUNDED(bounded_safetensors(empty), empty.size(), "");
}

TEST(HostileSafetensors, MessagesDoNotEchoTheFile) {
  // /etc/passwd-like text: its first 8 bytes as a number were printed.
  const std::string text = "root:x:0:0:root:/root:/bin/bash\n";
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(text[i]);
  const auto r = bounded_safetensors(text);
  EXPECT_BOUNDED(r, text.size(), "hostile.safetensors: not a safetensors file");
  EXPECT_EQ(r.error.find(std::to_string(n)), std::string::npos) << r.error;
  EXPECT_EQ(r.error.find("root"), std::string::npos) << r.error;
  // Invalid JSON: the position, not nlohmann's quote of the text around it.
  const auto bad = bounded_safetensors(safetensors_bytes("{\"secret-token-123\": nope}", ""));
  EXPECT_NE(bad.error.find("safetensors header is not valid JSON (error at header byte"), std::string::npos) << bad.error;
  EXPECT_EQ(bad.error.find("nope"), std::string::npos) << bad.error;
  // Names from the file are shown escaped and shortened.
  const auto name = bounded_safetensors(safetensors_bytes(
      "{\"\\u0007bell" + std::string(300, 'x') + "\": {\"dtype\": \"Q\\n7\", \"shape\": [1], \"data_offsets\": [0, 1]}}",
      "z"));
  EXPECT_NE(name.error.find("tensor '\\x07bellxxxx"), std::string::npos) << name.error;
  EXPECT_NE(name.error.find("…' has unsupported dtype 'Q\\x0a7'"), std::string::npos) << name.error;
  EXPECT_LT(name.error.size(), 300u);
}

// Every reader message: printable ASCII (and "…") only, and short, for names full of
// control bytes.
TEST(HostileMessages, NamesFromTheFileAreEscapedAndShort) {
  const std::string junk = std::string("\x1b[2J\x07\xff", 6) + std::string(500, 'A');
  std::vector<std::string> messages;
  {
    mmtest::PickleBuilder p;
    p.global("os\x1b", "x").stop();
    messages.push_back(load_error(archive("msg1", p.bytes())));
  }
  {
    mmtest::PickleBuilder p;
    p.tensor(junk, 4, 0, {4}, {1}).stop();
    messages.push_back(load_error(archive("msg2", p.bytes())));
  }
  {
    mmtest::PickleBuilder p;
    p.tensor("0", 4, 0, {4}, {1}, "FloatStorage", junk).stop();
    messages.push_back(load_error(archive("msg3", p.bytes(), {{"data/0", mmtest::float_bytes({1, 2, 3, 4})}})));
  }
  messages.push_back(load_error(mmtest::zip_archive({{"a/data.pkl", tensor_pickle(4)}, {junk, "x"}, {junk, "y"}})));
  try {
    const std::string header = "{'descr': '" + junk.substr(0, 20) + "', 'fortran_order': False, 'shape': (2,), }";
    const std::string npy = std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size()) + '\0' + header;
    micromotion::read_npy_from_memory(npy.data(), npy.size(), "x.npy");
  } catch (const micromotion::Error& e) {
    messages.push_back(e.what());
  }
  ASSERT_EQ(messages.size(), 5u);
  for (const auto& m : messages) {
    EXPECT_FALSE(m.empty());
    EXPECT_LT(m.size(), 400u) << m;
    std::string plain = m;
    for (size_t at; (at = plain.find("…")) != std::string::npos;) plain.erase(at, std::string("…").size());
    for (unsigned char c : plain) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << "byte " << int(c) << " in: " << m;
  }
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

// main.cc: the peer (TFLite Micro + CMSIS-NN) measured on a bare Cortex-M under QEMU,
// the way aiotc's test image (templates/target/main.c.j2) measures aiotc.
//
// The model is linked in flash (g_model, model.S); every input is zeros, as `aiotc
// bench` runs by default. A first interpreter runs a warm-up Invoke, then g_invokes
// Invokes (model.S; 1 unless a recurrent model's sequence is timed, its state carried
// from one Invoke to the next) timed with SysTick (startup.c), inputs zeroed again
// between them outside the timed span. A second interpreter on the same arena, built with
// LayerProfiler, runs a warm-up and one profiled Invoke: each operator's ticks since
// the previous operator ended, the profiler's own time counting for none, as aiotc's
// AIOTC_LAYER_END hook counts its layers. It prints on the semihosting console:
//   op=I name=OPNAME ticks=N          (one line per operator, in execution order)
//   ticks=N arena=N ops=N invokes=N  (ticks: all the timed Invokes together)
// ticks are SysTick ticks on the processor clock; benchmarks/peer/tflm.py turns them
// into instructions (QEMU -icount shift=0: 1 ns per instruction).
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "semihost.h"
#include "tensorflow/lite/micro/cortex_m_generic/debug_log_callback.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/micro/micro_profiler_interface.h"
#include "tensorflow/lite/schema/schema_generated.h"

#ifndef ARENA_SIZE
#define ARENA_SIZE (3u * 1024u * 1024u)
#endif
#ifndef MAX_OPS
#define MAX_OPS 512u
#endif

extern "C" const uint8_t g_model[];
extern "C" const uint32_t g_invokes;

namespace {

alignas(16) uint8_t tensor_arena[ARENA_SIZE];

void Print(const char* s) { semihost(SH_SYS_WRITE0, s); }

void LogCallback(const char* s) { Print(s); }

[[noreturn]] void Fail(const char* message) {
  Print("tflm-peer: ");
  Print(message);
  Print("\n");
  peer_exit(PEER_EXIT_TFLM);
}

char* AppendUint(char* p, uint64_t value) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10u);
    value /= 10u;
  } while (value != 0u);
  while (n > 0) *p++ = digits[--n];
  return p;
}

char* AppendText(char* p, const char* s) {
  while (*s) *p++ = *s++;
  return p;
}

// TFLM calls BeginEvent and EndEvent around each operator's Invoke
// (MicroInterpreterGraph::InvokeSubgraph). An operator's ticks run from the end of the
// previous operator's EndEvent (or Start) to its own EndEvent, so the framework's
// work between operators counts in the next operator, as aiotc's glue between layers
// counts in its next layer, and the operators add up to the whole Invoke.
class LayerProfiler : public tflite::MicroProfilerInterface {
 public:
  void Start() {
    count_ = 0;
    recording_ = true;
    last_ = peer_now();
  }
  void Stop() { recording_ = false; }
  uint32_t BeginEvent(const char* tag) override {
    if (!recording_ || count_ >= MAX_OPS) return MAX_OPS;
    names_[count_] = tag;
    ticks_[count_] = 0;
    return count_++;
  }
  void EndEvent(uint32_t handle) override {
    const uint64_t now = peer_now();
    if (handle < MAX_OPS) ticks_[handle] += now - last_;
    last_ = peer_now();
  }
  uint32_t count() const { return count_; }
  const char* name(uint32_t i) const { return names_[i]; }
  uint64_t ticks(uint32_t i) const { return ticks_[i]; }

 private:
  bool recording_ = false;
  uint32_t count_ = 0;
  uint64_t last_ = 0;
  const char* names_[MAX_OPS] = {};
  uint64_t ticks_[MAX_OPS] = {};
};

// Every builtin op TFLM has a kernel for (CMSIS-NN's where it has one), so one
// image serves any model. Registering ops costs nothing per Invoke.
using Resolver = tflite::MicroMutableOpResolver<128>;

void RegisterOps(Resolver& r) {
  r.AddAbs();
  r.AddAdd();
  r.AddAddN();
  r.AddArgMax();
  r.AddArgMin();
  r.AddAssignVariable();
  r.AddAveragePool2D();
  r.AddBatchMatMul();
  r.AddBatchToSpaceNd();
  r.AddBroadcastArgs();
  r.AddBroadcastTo();
  r.AddCallOnce();
  r.AddCast();
  r.AddCeil();
  r.AddCircularBuffer();
  r.AddConcatenation();
  r.AddConv2D();
  r.AddCos();
  r.AddCumSum();
  r.AddDepthToSpace();
  r.AddDepthwiseConv2D();
  r.AddDequantize();
  r.AddDetectionPostprocess();
  r.AddDiv();
  r.AddDynamicUpdateSlice();
  r.AddEmbeddingLookup();
  r.AddElu();
  r.AddEqual();
  r.AddExp();
  r.AddExpandDims();
  r.AddFill();
  r.AddFloor();
  r.AddFloorDiv();
  r.AddFloorMod();
  r.AddFullyConnected();
  r.AddGather();
  r.AddGatherNd();
  r.AddGreater();
  r.AddGreaterEqual();
  r.AddHardSwish();
  r.AddIf();
  r.AddL2Normalization();
  r.AddL2Pool2D();
  r.AddLeakyRelu();
  r.AddLess();
  r.AddLessEqual();
  r.AddLog();
  r.AddLogicalAnd();
  r.AddLogicalNot();
  r.AddLogicalOr();
  r.AddLogistic();
  r.AddLogSoftmax();
  r.AddMaximum();
  r.AddMaxPool2D();
  r.AddMirrorPad();
  r.AddMean();
  r.AddMinimum();
  r.AddMul();
  r.AddNeg();
  r.AddNotEqual();
  r.AddPack();
  r.AddPad();
  r.AddPadV2();
  r.AddPrelu();
  r.AddQuantize();
  r.AddReadVariable();
  r.AddReduceAll();
  r.AddReduceMax();
  r.AddReduceMin();
  r.AddRelu();
  r.AddRelu6();
  r.AddReshape();
  r.AddResizeBilinear();
  r.AddResizeNearestNeighbor();
  r.AddReverseV2();
  r.AddRound();
  r.AddRsqrt();
  r.AddSelectV2();
  r.AddShape();
  r.AddSin();
  r.AddSlice();
  r.AddSoftmax();
  r.AddSpaceToBatchNd();
  r.AddSpaceToDepth();
  r.AddSplit();
  r.AddSplitV();
  r.AddSqueeze();
  r.AddSqrt();
  r.AddSquare();
  r.AddSquaredDifference();
  r.AddStridedSlice();
  r.AddSub();
  r.AddSum();
  r.AddSvdf();
  r.AddTanh();
  r.AddTransposeConv();
  r.AddTranspose();
  r.AddUnpack();
  r.AddUnidirectionalSequenceLSTM();
  r.AddVarHandle();
  r.AddWhile();
  r.AddZerosLike();
}

void ZeroInputs(tflite::MicroInterpreter& interpreter) {
  for (size_t i = 0; i < interpreter.inputs_size(); ++i) {
    TfLiteTensor* t = interpreter.input(i);
    memset(t->data.raw, 0, t->bytes);
  }
}

// One interpreter on the arena: AllocateTensors, a warm-up Invoke, then `invokes`
// Invokes (profiled when a profiler is given: then one). Returns their ticks together.
uint64_t Measure(const tflite::Model* model, Resolver& resolver, LayerProfiler* profiler, uint32_t invokes,
                 size_t* arena_used) {
  tflite::MicroInterpreter interpreter(model, resolver, tensor_arena, ARENA_SIZE, nullptr, profiler);
  if (interpreter.AllocateTensors() != kTfLiteOk) Fail("AllocateTensors failed");
  ZeroInputs(interpreter);
  if (interpreter.Invoke() != kTfLiteOk) Fail("warm-up Invoke failed");
  peer_timer_start();
  uint64_t ticks = 0;
  for (uint32_t i = 0; i < invokes; ++i) {
    ZeroInputs(interpreter);  // the previous Invoke may have reused the input's memory
    const uint64_t start = peer_now();
    if (profiler != nullptr) profiler->Start();
    const TfLiteStatus status = interpreter.Invoke();
    ticks += peer_now() - start;
    if (profiler != nullptr) profiler->Stop();
    if (status != kTfLiteOk) Fail("timed Invoke failed");
  }
  *arena_used = interpreter.arena_used_bytes();
  return ticks;
}

}  // namespace

int main(void) {
  RegisterDebugLogCallback(LogCallback);
  const tflite::Model* model = tflite::GetModel(g_model);
  if (model->version() != TFLITE_SCHEMA_VERSION) Fail("model schema version mismatch");
  Resolver resolver;  // locals, not statics: no guards or atexit destructors
  RegisterOps(resolver);
  LayerProfiler profiler;

  size_t arena = 0, arena_profiled = 0;
  const uint64_t ticks = Measure(model, resolver, nullptr, g_invokes, &arena);
  Measure(model, resolver, &profiler, 1, &arena_profiled);

  static char line[160];
  for (uint32_t i = 0; i < profiler.count(); ++i) {
    char* p = AppendText(line, "op=");
    p = AppendUint(p, i);
    p = AppendText(p, " name=");
    p = AppendText(p, profiler.name(i));
    p = AppendText(p, " ticks=");
    p = AppendUint(p, profiler.ticks(i));
    *AppendText(p, "\n") = '\0';
    Print(line);
  }
  char* p = AppendText(line, "ticks=");
  p = AppendUint(p, ticks);
  p = AppendText(p, " arena=");
  p = AppendUint(p, arena);
  p = AppendText(p, " ops=");
  p = AppendUint(p, profiler.count());
  p = AppendText(p, " invokes=");
  p = AppendUint(p, g_invokes);
  *AppendText(p, "\n") = '\0';
  Print(line);
  return PEER_EXIT_OK;
}

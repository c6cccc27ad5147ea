/* flashread.c: a QEMU TCG plugin (plugin API v1, QEMU 7.2) that counts what a board's flash
 * would serve: instruction fetches and data reads at addresses in [lo, hi), each through a
 * small read cache (fully associative, least recently used) as a flash accelerator keeps,
 * counted from the last execution of the instruction at `start` on (the caches stay warm).
 *
 *   -plugin flashread.so,lo=0,hi=0x400000,start=ADDR,ilines=32,dlines=8,line=32,out=FILE[,mark=ADDR,marks=N]
 *           [,prefetch=1]
 *
 * With `prefetch` the instruction side reads the line after the one last fetched ahead (ST's ART
 * prefetch): a fetch that misses the cache but wants that line waits for nothing, as when the
 * straight-line code before it took the flash's access time to run.
 * FILE gets "fetches N icache_misses N reads N dcache_misses N prefetched N", then with `mark` one line
 * "mark I icache_misses N dcache_misses N" per mark I < N that ran: the misses since the
 * previous mark, charged when the 2-byte instruction at ADDR + 2 I executes (aiotc's
 * per-layer `bx lr` row, aiotc.latency); then "at A icache_misses N dcache_misses N" for each
 * instruction address A with misses: fetches of its line, and lines its loads read (which
 * code misses: a loop larger than the cache, data read in an order the lines do not serve).
 * aiotc builds it with the host's gcc
 * (aiotc.toolchain.flashread); the plugin API's declarations are restated here
 * (QEMU's qemu-plugin.h is not installed with QEMU). */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
typedef uint32_t qemu_plugin_meminfo_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum { CB_NO_REGS = 0, MEM_RW = 3 }; /* QEMU 7.2 calls back loads only when asked for both */

__attribute__((visibility("default"))) int qemu_plugin_version = 1;
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t, void (*)(qemu_plugin_id_t, struct qemu_plugin_tb *));
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t, void (*)(qemu_plugin_id_t, void *), void *);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *, size_t);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *, void (*)(unsigned int, void *), int, void *);
void qemu_plugin_register_vcpu_mem_cb(struct qemu_plugin_insn *,
                                      void (*)(unsigned int, qemu_plugin_meminfo_t, uint64_t, void *), int, int,
                                      void *);
bool qemu_plugin_mem_is_store(qemu_plugin_meminfo_t);

#define MAX_LINES 256
#define MAX_MARKS 4096

struct cache {
    uint64_t lines, tags[MAX_LINES], used[MAX_LINES], clock, accesses, misses;
    bool prefetch;
    uint64_t ahead, prefetched; /* the tag the prefetch holds (0: none), misses it served */
};

static uint64_t lo, hi, start, line = 32, mark, marks;
static struct cache icache = {.lines = 32}, dcache = {.lines = 8};
static uint32_t *where; /* per halfword of [lo, hi): misses of the fetch there, of the load there */
static uint64_t charged_i, charged_d; /* misses already charged to a mark */
static uint64_t mark_i[MAX_MARKS], mark_d[MAX_MARKS];
static bool mark_ran[MAX_MARKS];
static FILE *out;

static bool access_line(struct cache *c, uint64_t address)
{
    uint64_t tag = address / line + 1, victim = 0, ahead = c->ahead;
    c->accesses++;
    c->clock++;
    if (c->prefetch) {
        c->ahead = tag + 1;
    }
    for (uint64_t i = 0; i < c->lines; i++) {
        if (c->tags[i] == tag) {
            c->used[i] = c->clock;
            return false;
        }
        if (c->used[i] < c->used[victim]) {
            victim = i;
        }
    }
    if (tag == ahead) {
        c->prefetched++;
    } else {
        c->misses++;
    }
    c->tags[victim] = tag;
    c->used[victim] = c->clock;
    return tag != ahead;
}

/* A miss of the instruction (data: 1) cache by the instruction at `pc`. */
static void count_where(uint64_t pc, int data)
{
    if (pc >= lo && pc < hi) {
        where[(pc - lo) / 2 * 2 + data]++;
    }
}

static void on_start(unsigned int vcpu, void *udata)
{
    (void)vcpu, (void)udata;
    icache.accesses = icache.misses = icache.prefetched = dcache.accesses = dcache.misses = 0;
    charged_i = charged_d = 0;
    memset(mark_i, 0, sizeof mark_i);
    memset(mark_d, 0, sizeof mark_d);
    memset(mark_ran, 0, sizeof mark_ran);
    memset(where, 0, (hi - lo) * sizeof *where);
}

static void on_mark(unsigned int vcpu, void *udata)
{
    uint64_t index = (uint64_t)(uintptr_t)udata;
    (void)vcpu;
    mark_i[index] += icache.misses - charged_i;
    mark_d[index] += dcache.misses - charged_d;
    mark_ran[index] = true;
    charged_i = icache.misses;
    charged_d = dcache.misses;
}

static void on_fetch(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    if (access_line(&icache, (uint64_t)(uintptr_t)udata)) {
        count_where((uint64_t)(uintptr_t)udata, 0);
    }
}

static void on_memory(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t address, void *udata)
{
    (void)vcpu;
    if (!qemu_plugin_mem_is_store(info) && address >= lo && address < hi && access_line(&dcache, address)) {
        count_where((uint64_t)(uintptr_t)udata, 1);
    }
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    for (size_t i = 0; i < qemu_plugin_tb_n_insns(tb); i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t pc = qemu_plugin_insn_vaddr(insn);
        if (pc == start) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_start, CB_NO_REGS, NULL);
        }
        if (marks > 0 && pc >= mark && pc < mark + 2 * marks && (pc - mark) % 2 == 0) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark, CB_NO_REGS, (void *)(uintptr_t)((pc - mark) / 2));
        }
        if (pc >= lo && pc < hi) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_fetch, CB_NO_REGS, (void *)(uintptr_t)pc);
        }
        qemu_plugin_register_vcpu_mem_cb(insn, on_memory, CB_NO_REGS, MEM_RW, (void *)(uintptr_t)pc);
    }
}

static void on_exit_qemu(qemu_plugin_id_t id, void *udata)
{
    (void)id, (void)udata;
    fprintf(out,
            "fetches %" PRIu64 " icache_misses %" PRIu64 " reads %" PRIu64 " dcache_misses %" PRIu64 " prefetched %" PRIu64
            "\n",
            icache.accesses, icache.misses, dcache.accesses, dcache.misses, icache.prefetched);
    for (uint64_t i = 0; i < marks; i++) {
        if (mark_ran[i]) {
            fprintf(out, "mark %" PRIu64 " icache_misses %" PRIu64 " dcache_misses %" PRIu64 "\n", i, mark_i[i],
                    mark_d[i]);
        }
    }
    for (uint64_t i = 0; i < hi - lo; i += 2) {
        if (where[i] + where[i + 1] > 0) {
            fprintf(out, "at %" PRIu64 " icache_misses %" PRIu32 " dcache_misses %" PRIu32 "\n", lo + i, where[i],
                    where[i + 1]);
        }
    }
    fclose(out);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const void *info, int argc,
                                                               char **argv)
{
    const char *path = "flashread.txt";
    (void)info;
    for (int i = 0; i < argc; i++) {
        char *value = strchr(argv[i], '=');
        if (value == NULL) {
            return 1;
        }
        *value++ = '\0';
        uint64_t number = strtoull(value, NULL, 0);
        if (!strcmp(argv[i], "lo")) {
            lo = number;
        } else if (!strcmp(argv[i], "hi")) {
            hi = number;
        } else if (!strcmp(argv[i], "start")) {
            start = number;
        } else if (!strcmp(argv[i], "ilines") && number > 0 && number <= MAX_LINES) {
            icache.lines = number;
        } else if (!strcmp(argv[i], "dlines") && number > 0 && number <= MAX_LINES) {
            dcache.lines = number;
        } else if (!strcmp(argv[i], "line") && number > 0) {
            line = number;
        } else if (!strcmp(argv[i], "mark")) {
            mark = number;
        } else if (!strcmp(argv[i], "marks") && number <= MAX_MARKS) {
            marks = number;
        } else if (!strcmp(argv[i], "prefetch")) {
            icache.prefetch = number != 0;
        } else if (!strcmp(argv[i], "out")) {
            path = value;
        } else {
            return 1;
        }
    }
    out = fopen(path, "w");
    if (out == NULL || hi <= lo || (hi - lo) % 2 != 0 || (where = calloc(hi - lo, sizeof *where)) == NULL) {
        return 1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, on_exit_qemu, NULL);
    return 0;
}

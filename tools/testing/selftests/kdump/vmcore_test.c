// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/vmcore from user space, in the capture kernel: the file the kernel
 * serves (through read() at any offset and length, by concurrent readers,
 * through mmap(), and moved into a pipe by splice() and sendfile()) must
 * equal one sequential copy of it made before (the reference, e.g. the disk
 * `dd` wrote it to), and bad mmap() requests must fail with an error. Works
 * against the C and the Rust provider.
 *
 *   vmcore_test test  VMCORE REFERENCE [READS]   TAP on stdout
 *   vmcore_test bench VMCORE [MIB]               MB/s of read(4K), read(1M),
 *                                                mmap(), read(1M) by 2 and 4
 *                                                readers at once and a tmpfs
 *                                                ceiling
 *   vmcore_test                                  as kselftest's run_tests
 *                                                runs it: the test of
 *                                                /proc/vmcore against
 *                                                $VMCORE_REFERENCE; skips
 *                                                without either
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kselftest.h"

#define PAGE 4096UL
#define MAX_LEN (64 * 1024)

static int vfd, rfd;
static uint64_t vsize;
/* File offsets where what backs the file changes: the reads favour them. */
static uint64_t edges[1024];
static int nedges;

/* xorshift64*: reproducible from the seed printed in the TAP header. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static void add_edge(uint64_t off)
{
	if (nedges < (int)ARRAY_SIZE(edges) && off <= vsize)
		edges[nedges++] = off;
}

/* Region edges from the vmcore's own header: notes and every PT_LOAD. */
static int find_edges(void)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int i;

	if (pread(rfd, &eh, sizeof(eh), 0) != sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64)
		return -1;
	add_edge(0);
	add_edge(vsize);
	for (i = 0; i < eh.e_phnum; i++) {
		if (pread(rfd, &ph, sizeof(ph), eh.e_phoff + i * sizeof(ph)) != sizeof(ph))
			return -1;
		if (ph.p_type != PT_NOTE && ph.p_type != PT_LOAD)
			continue;
		add_edge(ph.p_offset);
		add_edge(ph.p_offset + ph.p_filesz);
		add_edge((ph.p_offset + ph.p_filesz + PAGE - 1) & ~(PAGE - 1));
	}
	return 0;
}

static uint64_t pick_offset(uint64_t *s)
{
	uint64_t r = rnd(s);

	/* Half the reads start within a page of an edge. */
	if (r & 1 && nedges) {
		uint64_t e = edges[(r >> 1) % nedges];
		int64_t d = (int64_t)(rnd(s) % (2 * PAGE)) - (int64_t)PAGE;

		if ((int64_t)e + d < 0)
			return 0;
		return e + d > vsize ? vsize : e + d;
	}
	return rnd(s) % (vsize + 1);
}

/* One read of the vmcore at a random place, checked against the reference. */
static int check_one(uint64_t *s, char *a, char *b)
{
	uint64_t off = pick_offset(s);
	size_t len = 1 + rnd(s) % MAX_LEN;
	size_t want = off >= vsize ? 0 : (vsize - off < len ? vsize - off : len);
	ssize_t n = pread(vfd, a, len, off);

	if (n != (ssize_t)want) {
		ksft_print_msg("pread(%zu @ %#llx) = %zd, want %zu (errno %d)\n",
			       len, (unsigned long long)off, n, want, errno);
		return -1;
	}
	if (pread(rfd, b, want, off) != (ssize_t)want)
		return -1;
	if (memcmp(a, b, want)) {
		ksft_print_msg("pread(%zu @ %#llx) differs from the reference\n",
			       len, (unsigned long long)off);
		return -1;
	}
	return 0;
}

struct worker {
	pthread_t t;
	uint64_t seed;
	int reads;
	int bad;
};

static void *reader(void *arg)
{
	struct worker *w = arg;
	char *a = malloc(MAX_LEN), *b = malloc(MAX_LEN);
	int i;

	for (i = 0; i < w->reads && a && b; i++)
		w->bad += check_one(&w->seed, a, b) != 0;
	if (!a || !b)
		w->bad++;
	free(a);
	free(b);
	return NULL;
}

static int run_readers(int nthreads, int reads, uint64_t seed)
{
	struct worker w[8];
	int i, bad = 0;

	for (i = 0; i < nthreads; i++) {
		w[i] = (struct worker){ .seed = seed + i, .reads = reads };
		if (pthread_create(&w[i].t, NULL, reader, &w[i]))
			return -1;
	}
	for (i = 0; i < nthreads; i++) {
		pthread_join(w[i].t, NULL);
		bad += w[i].bad;
	}
	return bad;
}

/* mmap() of [off, off + len) must show the reference's bytes. */
static int check_map(uint64_t off, size_t len)
{
	char *b = malloc(len);
	void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, vfd, off);
	int ret = -1;

	if (m == MAP_FAILED) {
		ksft_print_msg("mmap(%zu @ %#llx): %s\n", len,
			       (unsigned long long)off, strerror(errno));
	} else if (b && pread(rfd, b, len, off) == (ssize_t)len) {
		ret = memcmp(m, b, len) ? -1 : 0;
		if (ret)
			ksft_print_msg("mmap(%zu @ %#llx) differs from the reference\n",
				       len, (unsigned long long)off);
	}
	if (m != MAP_FAILED)
		munmap(m, len);
	free(b);
	return ret;
}

/* mmap() must fail with `err` (and never map anything). */
static int check_map_fails(uint64_t off, size_t len, int prot, int err)
{
	void *m = mmap(NULL, len, prot, MAP_PRIVATE, vfd, off);

	if (m != MAP_FAILED) {
		munmap(m, len);
		ksft_print_msg("mmap(%zu @ %#llx, prot %d) succeeded\n", len,
			       (unsigned long long)off, prot);
		return -1;
	}
	if (errno != err) {
		ksft_print_msg("mmap(%zu @ %#llx, prot %d): %s, want %s\n", len,
			       (unsigned long long)off, prot, strerror(errno),
			       strerror(err));
		return -1;
	}
	return 0;
}

/*
 * `len` bytes at `off` moved into a pipe by splice() (or sendfile()) and
 * read back must be the reference's bytes: both go through the file's
 * read_iter, not read(). A call may move fewer bytes than asked (the pipe
 * holds whole pages): call again for the rest, as cat and cp do.
 */
static int check_pipe(uint64_t off, size_t len, int use_sendfile, char *a, char *b)
{
	size_t want = off >= vsize ? 0 : (vsize - off < len ? vsize - off : len);
	const char *how = use_sendfile ? "sendfile" : "splice";
	size_t got = 0;
	loff_t pos = off;
	off_t spos = off;
	int p[2], ret = -1;

	if (pipe(p))
		return -1;
	while (got < len) {
		ssize_t n, r, drained = 0;

		if (use_sendfile)
			n = sendfile(p[1], vfd, &spos, len - got);
		else
			n = splice(vfd, &pos, p[1], NULL, len - got, 0);
		if (n < 0) {
			ksft_print_msg("%s(%zu @ %#llx): %s\n", how, len - got,
				       (unsigned long long)off + got, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		while (drained < n) {
			r = read(p[0], a + got + drained, n - drained);
			if (r <= 0)
				goto out;
			drained += r;
		}
		got += n;
	}
	if (got != want) {
		ksft_print_msg("%s(%zu @ %#llx) moved %zu bytes, want %zu\n", how,
			       len, (unsigned long long)off, got, want);
		goto out;
	}
	if (pread(rfd, b, want, off) != (ssize_t)want)
		goto out;
	ret = memcmp(a, b, want) ? -1 : 0;
	if (ret)
		ksft_print_msg("%s(%zu @ %#llx) differs from the reference\n", how,
			       len, (unsigned long long)off);
out:
	close(p[0]);
	close(p[1]);
	return ret;
}

static int test(const char *vmcore, const char *ref, int reads)
{
	uint64_t seed = (uint64_t)time(NULL) * 2654435761ULL | 1, s;
	struct stat st;
	char a[16];
	int i, bad;

	ksft_print_header();
	ksft_set_plan(10);
	vfd = open(vmcore, O_RDONLY);
	rfd = open(ref, O_RDONLY);
	if (vfd < 0 || rfd < 0 || fstat(vfd, &st))
		ksft_exit_fail_msg("cannot open %s or %s: %s\n", vmcore, ref, strerror(errno));
	vsize = st.st_size;
	ksft_print_msg("seed %llu, %s is %llu bytes\n", (unsigned long long)seed,
		       vmcore, (unsigned long long)vsize);

	ksft_test_result((st.st_mode & 07777) == 0400 && S_ISREG(st.st_mode) && vsize > 0,
			 "regular file, mode 0400, size > 0 (mode %o)\n", st.st_mode & 07777);
	ksft_test_result(find_edges() == 0 && nedges > 3,
			 "reference has an ELF64 core header (%d region edges)\n", nedges);

	s = seed;
	bad = run_readers(1, reads, s);
	ksft_test_result(bad == 0,
			 "%d reads at random offsets and lengths match the reference (%d bad)\n",
			 reads, bad);

	bad = run_readers(4, reads / 4, seed ^ 0x5555);
	ksft_test_result(bad == 0, "4 concurrent readers, %d reads each, match (%d bad)\n",
			 reads / 4, bad);

	ksft_test_result(pread(vfd, a, sizeof(a), vsize) == 0 &&
			 pread(vfd, a, sizeof(a), vsize + (1ULL << 40)) == 0 &&
			 pread(vfd, a, sizeof(a), vsize - 3) == 3,
			 "reads at and past the end return 0, across it the bytes left\n");

	bad = check_map(0, PAGE) + check_map(0, 4 * PAGE);
	for (i = 0, s = seed; i < 8; i++) {
		uint64_t off = (rnd(&s) % (vsize - (4 << 20))) & ~(PAGE - 1);

		bad += check_map(off, 4 << 20) != 0;
	}
	bad += check_map(vsize - PAGE, PAGE) != 0;
	for (i = 0; i < nedges; i++) {
		uint64_t e = edges[i] & ~(PAGE - 1);

		if (e >= PAGE && e + PAGE <= vsize)
			bad += check_map(e - PAGE, 2 * PAGE) != 0;
	}
	ksft_test_result(bad == 0,
			 "mmap() of the header, notes, region edges and 8 random 4 MiB windows match (%d bad)\n",
			 bad);

	bad = check_map_fails(vsize, PAGE, PROT_READ, EINVAL) +
	      check_map_fails(vsize - PAGE, 2 * PAGE, PROT_READ, EINVAL) +
	      check_map_fails((vsize + (1ULL << 40)) & ~(PAGE - 1), PAGE, PROT_READ, EINVAL) +
	      check_map_fails(0, vsize + PAGE, PROT_READ, EINVAL);
	ksft_test_result(bad == 0, "mmap() past the end fails with EINVAL\n");

	bad = check_map_fails(0, PAGE, PROT_READ | PROT_WRITE, EPERM) +
	      check_map_fails(0, PAGE, PROT_READ | PROT_EXEC, EPERM);
	ksft_test_result(bad == 0, "writable or executable mmap() fails with EPERM\n");

	{
		void *m = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, vfd, 0);

		bad = m == MAP_FAILED || mprotect(m, PAGE, PROT_READ | PROT_WRITE) == 0;
		if (m != MAP_FAILED)
			munmap(m, PAGE);
	}
	ksft_test_result(bad == 0, "a read-only mapping cannot be made writable\n");

	{
		char *a = malloc(MAX_LEN), *b = malloc(MAX_LEN);

		bad = !a || !b;
		for (i = 0, s = seed ^ 0x3333; i < 200 && !bad; i++) {
			uint64_t off = pick_offset(&s);
			size_t len = 1 + rnd(&s) % MAX_LEN;

			bad += check_pipe(off, len, i & 1, a, b) != 0;
		}
		free(a);
		free(b);
	}
	ksft_test_result(bad == 0,
			 "splice() and sendfile() into a pipe give the reference's bytes (200 calls, %d bad)\n",
			 bad);
	ksft_finished();
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* Reads `total` bytes of `fd` from `off` in `bs` pieces; MB/s. */
static double bench_read(int fd, uint64_t off, uint64_t total, size_t bs, char *buf)
{
	double t = now();
	uint64_t done = 0;

	while (done < total) {
		ssize_t n = pread(fd, buf, bs, off + done);

		if (n <= 0)
			return -1;
		done += n;
	}
	return total / 1e6 / (now() - t);
}

/* Maps `total` bytes from `off` 64 MiB at a time and copies them out; MB/s. */
static double bench_mmap(uint64_t off, uint64_t total, char *buf)
{
	const size_t win = 64 << 20, bs = 1 << 20;
	double t = now();
	uint64_t done = 0;

	while (done < total) {
		size_t len = total - done < win ? total - done : win;
		char *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, vfd, off + done);
		size_t i;

		if (m == MAP_FAILED)
			return -1;
		for (i = 0; i < len; i += bs)
			memcpy(buf, m + i, len - i < bs ? len - i : bs);
		munmap(m, len);
		done += len;
	}
	return total / 1e6 / (now() - t);
}

struct bench_reader {
	pthread_t t;
	uint64_t off, total;
	double mbs;
};

static void *bench_reader(void *arg)
{
	struct bench_reader *r = arg;
	char *buf = malloc(1 << 20);

	r->mbs = buf ? bench_read(vfd, r->off, r->total, 1 << 20, buf) : -1;
	free(buf);
	return NULL;
}

/*
 * `n` readers at once, each reading its own 1/n of `total` bytes from `off`
 * with 1 MiB blocks (as makedumpfile --num-threads or several dd's do);
 * MB/s of all of them together.
 */
static double bench_parallel(uint64_t off, uint64_t total, int n)
{
	uint64_t part = (total / n) & ~((1ULL << 20) - 1);
	struct bench_reader r[8];
	double t = now();
	int i, bad = 0;

	for (i = 0; i < n; i++) {
		r[i] = (struct bench_reader){ .off = off + i * part, .total = part };
		if (pthread_create(&r[i].t, NULL, bench_reader, &r[i]))
			return -1;
	}
	for (i = 0; i < n; i++) {
		pthread_join(r[i].t, NULL);
		bad += r[i].mbs <= 0;
	}
	return bad ? -1 : part * n / 1e6 / (now() - t);
}

static int bench(const char *vmcore, uint64_t mib)
{
	const uint64_t ceil_size = 32 << 20;
	char *buf = malloc(1 << 20);
	uint64_t off, total, done = 0;
	struct stat st;
	double t;
	int tfd;

	vfd = open(vmcore, O_RDONLY);
	if (!buf || vfd < 0 || fstat(vfd, &st))
		return 1;
	/* Well into old memory, past the header and notes. */
	off = 64 << 20;
	total = mib << 20;
	if ((uint64_t)st.st_size < off + total)
		total = (st.st_size - off) & ~((1ULL << 20) - 1);
	printf("BENCH bytes %llu\n", (unsigned long long)total);
	printf("BENCH read-4k %.1f\n", bench_read(vfd, off, total, 4096, buf));
	printf("BENCH read-1m %.1f\n", bench_read(vfd, off, total, 1 << 20, buf));
	printf("BENCH mmap %.1f\n", bench_mmap(off, total, buf));
	printf("BENCH read-1m-x2 %.1f\n", bench_parallel(off, total, 2));
	printf("BENCH read-1m-x4 %.1f\n", bench_parallel(off, total, 4));
	/* Ceiling: the same bytes from a tmpfs file, 1 MiB reads; the capture
	 * kernel has no room for a copy of the whole span, so a smaller file is
	 * read round and round.
	 */
	tfd = open("/tmp/ceiling", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (tfd < 0)
		return 1;
	memset(buf, 0x5a, 1 << 20);
	for (done = 0; done < ceil_size; done += 1 << 20)
		if (write(tfd, buf, 1 << 20) != 1 << 20)
			return 1;
	t = now();
	for (done = 0; done < total; done += 1 << 20)
		if (pread(tfd, buf, 1 << 20, done % ceil_size) != 1 << 20)
			return 1;
	printf("BENCH tmpfs %.1f\n", total / 1e6 / (now() - t));
	close(tfd);
	unlink("/tmp/ceiling");
	return 0;
}

/*
 * Without arguments, as run_tests starts it: /proc/vmcore against the copy
 * of it that $VMCORE_REFERENCE names (kdump scripts save one to disk
 * before anything else reads the dump). Only a capture kernel has
 * /proc/vmcore, so anywhere else the test skips, and it skips without a
 * reference rather than making one: a copy is the size of the crashed
 * kernel's memory.
 */
static int kselftest_default(void)
{
	const char *ref = getenv("VMCORE_REFERENCE");

	if (access("/proc/vmcore", F_OK)) {
		ksft_print_header();
		ksft_exit_skip("no /proc/vmcore: not a kdump capture kernel\n");
	}
	if (!ref || !*ref) {
		ksft_print_header();
		ksft_exit_skip("set VMCORE_REFERENCE to a copy of /proc/vmcore made before\n");
	}
	return test("/proc/vmcore", ref, 10000);
}

int main(int argc, char **argv)
{
	if (argc == 1)
		return kselftest_default();
	if (argc >= 4 && !strcmp(argv[1], "test"))
		return test(argv[2], argv[3], argc > 4 ? atoi(argv[4]) : 10000);
	if (argc >= 3 && !strcmp(argv[1], "bench"))
		return bench(argv[2], argc > 3 ? strtoull(argv[3], NULL, 0) : 256);
	fprintf(stderr, "usage: %s test VMCORE REFERENCE [READS] | bench VMCORE [MIB]\n", argv[0]);
	return 2;
}

/* Minimal unit-test harness: CHECK records a failure with file and line and
 * goes on; TEST_MAIN runs the listed tests and exits 1 if any check failed. */
#ifndef CHORUS_TEST_CHECK_H
#define CHORUS_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                    \
  do {                                                                 \
    check_count++;                                                     \
    if (!(cond)) {                                                     \
      check_failures++;                                                \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
              #cond);                                                  \
    }                                                                  \
  } while (0)

#define CHECK_EQ(a, b)                                                       \
  do {                                                                       \
    long long check_a_ = (long long)(a), check_b_ = (long long)(b);          \
    check_count++;                                                           \
    if (check_a_ != check_b_) {                                              \
      check_failures++;                                                      \
      fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld, %s == %lld\n",    \
              __FILE__, __LINE__, #a, check_a_, #b, check_b_);               \
    }                                                                        \
  } while (0)

#define RUN(test)                                  \
  do {                                             \
    int before_ = check_failures;                  \
    test();                                        \
    printf("%s %s\n", before_ == check_failures ? "ok  " : "FAIL", #test); \
  } while (0)

#define CHECK_SUMMARY()                                                   \
  (printf("%d checks, %d failed\n", check_count, check_failures),        \
   check_failures ? 1 : 0)

#endif

/*
 * driver.c - replays fuzzer inputs without libFuzzer, so `make check` runs
 * every harness over its committed corpus (under ASan and UBSan).
 *   fuzz-replay-NAME FILE_OR_DIRECTORY...
 * Prints "<name>: N passed, M failed". A harness aborts on a violated
 * property, which ends the run without a tally: make check counts that as a
 * failure.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static long passed, failed;

static void replay(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        failed++;
        return;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *data = malloc(size > 0 ? (size_t)size : 1);
    size_t got = fread(data, 1, (size_t)size, f);
    fclose(f);
    if (LLVMFuzzerTestOneInput(data, got) == 0) {
        passed++;
    } else {
        failed++;
        fprintf(stderr, "FAIL %s\n", path);
    }
    free(data);
}

int main(int argc, char **argv)
{
    const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    for (int a = 1; a < argc; a++) {
        struct stat st;
        if (stat(argv[a], &st) == 0 && S_ISDIR(st.st_mode)) {
            DIR *dir = opendir(argv[a]);
            struct dirent *entry;
            while (dir && (entry = readdir(dir)) != NULL) {
                if (entry->d_name[0] == '.')
                    continue;
                char path[4096];
                snprintf(path, sizeof path, "%s/%s", argv[a], entry->d_name);
                replay(path);
            }
            if (dir)
                closedir(dir);
        } else {
            replay(argv[a]);
        }
    }
    printf("%s: %ld passed, %ld failed\n", name, passed, failed);
    return failed == 0 ? 0 : 1;
}

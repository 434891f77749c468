// glibc's allocator tuning (mallopt), for the landcover CLI's long runs.
#include <malloc.h>

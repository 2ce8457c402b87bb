/* Compiles rlcc.h alone, as C99 -pedantic and as C++: the header must stand
 * on its own and use nothing beyond <stddef.h> and <stdint.h>. */
#include "rlcc.h"

int main(void)
{
    rlcc_dbscan_options options;
    return rlcc_dbscan_options_init(&options, sizeof options) == RLCC_OK ? 0 : 1;
}

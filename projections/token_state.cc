#include "projections/token_state.h"

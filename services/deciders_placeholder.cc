// replaced by the deciders

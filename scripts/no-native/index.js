throw new Error("no native msgpackr-extract");

// Through a bundler (vite build): the package by its public name.
import * as H5 from "h5-access";
import { run } from "./app.js";
run(H5);

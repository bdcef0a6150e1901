// The join catalog (es).
export default {
};
